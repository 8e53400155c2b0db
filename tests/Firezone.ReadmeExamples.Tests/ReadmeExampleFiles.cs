namespace Firezone.ReadmeExamples.Tests;

/// <summary>A <c>```csharp</c> block of a README: its leading using directives (if any) and the rest.</summary>
/// <param name="Line">1-based line of the block's first code line in the README.</param>
internal sealed record CodeBlock(int Line, IReadOnlyList<string> Usings, IReadOnlyList<string> Body);

/// <summary>A <c>#region readme: &lt;README path&gt;</c> of the examples project.</summary>
/// <param name="Line">1-based line of the <c>#region</c> directive.</param>
/// <param name="FileUsings">The using directives at the top of the file that holds the region.</param>
internal sealed record ExampleRegion(string File, int Line, string Readme, IReadOnlyList<string> FileUsings, IReadOnlyList<string> Body);

/// <summary>
/// Reads README code blocks and example regions, and matches them. A block matches a region tagged with its README when
/// the block's code, after its leading using directives, is the region's content line for line (trailing spaces and
/// the common indentation of each side aside), and, when the block starts with using directives, the file holding the
/// region has exactly those using directives: a complete example compiles with what it shows (and the SDK's implicit
/// usings), a fragment without usings with whatever its file declares around it.
/// </summary>
internal static class ReadmeExampleFiles
{
    public const string RegionTag = "#region readme:";
    public const string ExamplesProject = "samples/Firezone.ReadmeExamples";

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    private static string FindRepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Firezone.sln")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException($"no Firezone.sln above {AppContext.BaseDirectory}");
    }

    public static string ReadRepositoryFile(string relativePath) =>
        File.ReadAllText(Path.Combine(RepositoryRoot, relativePath));

    /// <summary>Every example region of the examples project, in file order.</summary>
    public static IReadOnlyList<ExampleRegion> ReadExampleRegions()
    {
        var directory = Path.Combine(RepositoryRoot, ExamplesProject);
        var regions = new List<ExampleRegion>();
        foreach (var path in Directory.EnumerateFiles(directory, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(RepositoryRoot, path).Replace('\\', '/');
            if (relative.Contains("/obj/", StringComparison.Ordinal) || relative.Contains("/bin/", StringComparison.Ordinal))
            {
                continue;
            }

            regions.AddRange(ParseRegions(relative, File.ReadAllText(path)));
        }

        return regions;
    }

    public static IReadOnlyList<string> Lines(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');

    /// <summary>The <c>```csharp</c> (or <c>```cs</c>, <c>```c#</c>) blocks of a Markdown text.</summary>
    public static IReadOnlyList<CodeBlock> ParseCodeBlocks(string markdown)
    {
        var lines = Lines(markdown);
        var blocks = new List<CodeBlock>();
        for (int i = 0; i < lines.Count; i++)
        {
            var fence = lines[i].TrimStart();
            if (!fence.StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }

            var info = fence[3..].Trim().ToLowerInvariant();
            int end = i + 1;
            while (end < lines.Count && !lines[end].TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                end++;
            }

            if (info is "csharp" or "cs" or "c#")
            {
                var code = lines.Skip(i + 1).Take(end - i - 1).ToList();
                var (usings, body) = SplitUsings(code);
                blocks.Add(new CodeBlock(i + 2, usings, Normalize(body)));
            }

            i = end;
        }

        return blocks;
    }

    /// <summary>The example regions of one C# file.</summary>
    public static IReadOnlyList<ExampleRegion> ParseRegions(string file, string text)
    {
        var lines = Lines(text);
        var (fileUsings, _) = SplitUsings(lines);
        var regions = new List<ExampleRegion>();
        for (int i = 0; i < lines.Count; i++)
        {
            var directive = lines[i].Trim();
            if (!directive.StartsWith(RegionTag, StringComparison.Ordinal))
            {
                continue;
            }

            var readme = directive[RegionTag.Length..].Trim();
            int end = i + 1;
            while (end < lines.Count && !lines[end].Trim().StartsWith("#endregion", StringComparison.Ordinal))
            {
                if (lines[end].Trim().StartsWith("#region", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"{file}:{end + 1}: example regions do not nest");
                }

                end++;
            }

            if (end == lines.Count)
            {
                throw new InvalidOperationException($"{file}:{i + 1}: {RegionTag} without #endregion");
            }

            regions.Add(new ExampleRegion(file, i + 1, readme, fileUsings, Normalize(lines.Skip(i + 1).Take(end - i - 1))));
            i = end;
        }

        return regions;
    }

    /// <summary>Leading using directives (blank lines between them skipped) and the lines after them.</summary>
    public static (IReadOnlyList<string> Usings, IReadOnlyList<string> Code) SplitUsings(IReadOnlyList<string> lines)
    {
        var usings = new List<string>();
        int i = 0;
        for (; i < lines.Count; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (!IsUsingDirective(line))
            {
                break;
            }

            usings.Add(line);
        }

        return (usings, lines.Skip(i).ToList());
    }

    /// <summary><c>using A.B;</c>, <c>using static A.B;</c>, <c>using X = A.B;</c>, <c>global using …;</c>; not a using statement or declaration.</summary>
    public static bool IsUsingDirective(string line)
    {
        if (!line.EndsWith(';'))
        {
            return false;
        }

        var words = line.TrimEnd(';').Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int w = 0;
        if (w < words.Length && words[w] == "global") w++;
        if (w >= words.Length || words[w] != "using") return false;
        w++;
        if (w < words.Length && words[w] == "static") w++;
        if (w >= words.Length || words[w] is "var" or "await" || words[w].Contains('(', StringComparison.Ordinal)) return false;
        // using Name; or using Alias = Name;
        return words.Length - w == 1 || (words.Length - w >= 3 && words[w + 1] == "=" && !words.Skip(w + 2).Any(x => x == "new" || x.Contains('(', StringComparison.Ordinal)));
    }

    /// <summary>Trailing spaces trimmed, leading and trailing blank lines dropped, the common indentation removed.</summary>
    public static IReadOnlyList<string> Normalize(IEnumerable<string> lines)
    {
        var trimmed = lines.Select(l => l.TrimEnd()).ToList();
        while (trimmed.Count > 0 && trimmed[0].Length == 0) trimmed.RemoveAt(0);
        while (trimmed.Count > 0 && trimmed[^1].Length == 0) trimmed.RemoveAt(trimmed.Count - 1);
        int indent = trimmed.Where(l => l.Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return trimmed.Select(l => l.Length == 0 ? l : l[indent..]).ToList();
    }

    /// <summary>Whether <paramref name="region"/> holds <paramref name="block"/> (see the class remarks).</summary>
    public static bool Matches(CodeBlock block, ExampleRegion region) =>
        region.Body.SequenceEqual(block.Body, StringComparer.Ordinal)
        && (block.Usings.Count == 0 || region.FileUsings.Order(StringComparer.Ordinal).SequenceEqual(block.Usings.Order(StringComparer.Ordinal), StringComparer.Ordinal));

    /// <summary>Why no region holds the block: the closest region of its README and the first difference.</summary>
    public static string Explain(string readme, CodeBlock block, IReadOnlyList<ExampleRegion> regions)
    {
        var header = $"{readme}:{block.Line}: this ```csharp block is not in {ExamplesProject}";
        var candidates = regions.Where(r => r.Readme == readme).ToList();
        if (candidates.Count == 0)
        {
            return $"{header} (no `{RegionTag} {readme}` region there). Add it, in a file whose using directives are the block's.";
        }

        var closest = candidates.MaxBy(r => CommonPrefix(r.Body, block.Body))!;
        if (closest.Body.SequenceEqual(block.Body, StringComparer.Ordinal))
        {
            return $"{header}: {closest.File}:{closest.Line} has the code, but its file's using directives " +
                $"[{string.Join(" ", closest.FileUsings)}] are not the block's [{string.Join(" ", block.Usings)}].";
        }

        int same = CommonPrefix(closest.Body, block.Body);
        string readmeLine = same < block.Body.Count ? block.Body[same] : "(end of block)";
        string exampleLine = same < closest.Body.Count ? closest.Body[same] : "(end of region)";
        return $"{header}. Closest: {closest.File}:{closest.Line}, which differs at line {same + 1} of the code:\n" +
            $"  README:  {readmeLine}\n  example: {exampleLine}";
    }

    private static int CommonPrefix(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        int n = 0;
        while (n < a.Count && n < b.Count && a[n] == b[n]) n++;
        return n;
    }
}
