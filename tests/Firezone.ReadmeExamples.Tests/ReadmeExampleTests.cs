namespace Firezone.ReadmeExamples.Tests;

/// <summary>
/// Every <c>```csharp</c> block of a checked package README is compiled, verbatim, in samples/Firezone.ReadmeExamples
/// (public API only), so a README cannot show code that does not build. See "README examples" in the root README.
/// </summary>
public class ReadmeExampleTests
{
    /// <summary>The READMEs whose code blocks must all be compiled examples. Checking another one is one entry here.</summary>
    public static readonly TheoryData<string> CheckedReadmes = new()
    {
        "src/Firezone.PhoenixChannel/README.md",
        "src/Firezone.Tun/README.md",
        "src/Firezone.Connlib/README.md",
        "src/Firezone.Snownet/README.md",
        "src/Firezone.Testing/README.md",
    };

    /// <summary>Package READMEs not checked yet, and why: move one to <see cref="CheckedReadmes"/> when its blocks are public API.</summary>
    private static readonly Dictionary<string, string> NotCheckedYet = new()
    {
    };

    private static IEnumerable<string> Checked => CheckedReadmes.Select(row => row.Data);

    [Theory]
    [MemberData(nameof(CheckedReadmes))]
    public void Every_csharp_block_of_the_readme_is_a_compiled_example(string readme)
    {
        var blocks = ReadmeExampleFiles.ParseCodeBlocks(ReadmeExampleFiles.ReadRepositoryFile(readme));
        var regions = ReadmeExampleFiles.ReadExampleRegions();
        Assert.NotEmpty(blocks);
        var missing = blocks
            .Where(b => !regions.Any(r => r.Readme == readme && ReadmeExampleFiles.Matches(b, r)))
            .Select(b => ReadmeExampleFiles.Explain(readme, b, regions))
            .ToList();
        Assert.True(missing.Count == 0, string.Join("\n\n", missing));
    }

    [Theory]
    [MemberData(nameof(CheckedReadmes))]
    public void Every_example_region_is_a_block_of_its_readme(string readme)
    {
        var blocks = ReadmeExampleFiles.ParseCodeBlocks(ReadmeExampleFiles.ReadRepositoryFile(readme));
        var stale = ReadmeExampleFiles.ReadExampleRegions()
            .Where(r => r.Readme == readme && !blocks.Any(b => ReadmeExampleFiles.Matches(b, r)))
            .Select(r => $"{r.File}:{r.Line}: no ```csharp block of {readme} is this region (remove it, or put it back in the README)")
            .ToList();
        Assert.True(stale.Count == 0, string.Join("\n", stale));
    }

    [Fact]
    public void Every_package_readme_is_checked_or_says_why_not()
    {
        var readmes = Directory.EnumerateDirectories(Path.Combine(ReadmeExampleFiles.RepositoryRoot, "src"))
            .Select(d => Path.Combine(d, "README.md"))
            .Where(File.Exists)
            .Select(p => Path.GetRelativePath(ReadmeExampleFiles.RepositoryRoot, p).Replace('\\', '/'))
            .ToList();
        Assert.NotEmpty(readmes);
        Assert.All(readmes, r => Assert.True(Checked.Contains(r) || NotCheckedYet.ContainsKey(r), $"{r} is neither checked nor listed as not checked yet"));
        Assert.All(NotCheckedYet.Keys, r => Assert.DoesNotContain(r, Checked));
    }

    [Fact]
    public void Every_example_region_names_a_checked_readme()
    {
        var regions = ReadmeExampleFiles.ReadExampleRegions();
        Assert.NotEmpty(regions);
        Assert.All(regions, r => Assert.True(Checked.Contains(r.Readme), $"{r.File}:{r.Line}: {r.Readme} is not a checked README"));
    }

    [Fact]
    public void The_examples_get_no_internals()
    {
        // Only public API: no package may grant the examples InternalsVisibleTo (Directory.Build.props grants it by name).
        var settings = new[] { "Directory.Build.props", "Directory.Build.targets" }
            .Concat(Directory.EnumerateFiles(Path.Combine(ReadmeExampleFiles.RepositoryRoot, "src"), "*.*", SearchOption.AllDirectories)
                .Where(p => (p.EndsWith(".csproj", StringComparison.Ordinal) || p.EndsWith(".cs", StringComparison.Ordinal))
                    && !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                .Select(p => Path.GetRelativePath(ReadmeExampleFiles.RepositoryRoot, p)));
        Assert.All(settings, f => Assert.DoesNotContain("ReadmeExamples", ReadmeExampleFiles.ReadRepositoryFile(f), StringComparison.Ordinal));
    }

    // The matcher itself: it must fail on the drift it exists to catch.

    private const string Readme = "src/X/README.md";

    private static string Markdown(string code) => $"# X\n\ntext\n\n```csharp\n{code}\n```\n\n```sh\nnot csharp\n```\n";

    private static string Example(string usings, string code) =>
        $"{usings}\nnamespace E;\n\npublic static class C\n{{\n    public static void M()\n    {{\n        {ReadmeExampleFiles.RegionTag} {Readme}\n" +
        string.Join("\n", code.Split('\n').Select(l => l.Length == 0 ? l : "        " + l)) + "\n        #endregion\n    }\n}\n";

    private static bool Holds(string markdown, string example)
    {
        var block = Assert.Single(ReadmeExampleFiles.ParseCodeBlocks(markdown));
        var region = Assert.Single(ReadmeExampleFiles.ParseRegions("E.cs", example));
        return ReadmeExampleFiles.Matches(block, region);
    }

    [Fact]
    public void Matcher_accepts_the_same_code_at_another_indentation()
    {
        const string code = "using var x = new MemoryStream();\nif (x.Length == 0)\n{\n    x.WriteByte(1);\n}";
        Assert.True(Holds(Markdown(code), Example("using System.IO;", code)));
        Assert.True(Holds(Markdown("using System.IO;\n\n" + code), Example("using System.IO;", code)));
    }

    [Fact]
    public void Matcher_rejects_a_changed_line_an_extra_line_and_other_usings()
    {
        const string code = "var a = 1;\nConsole.WriteLine(a);";
        Assert.False(Holds(Markdown(code), Example("", "var a = 2;\nConsole.WriteLine(a);")));
        Assert.False(Holds(Markdown(code), Example("", code + "\nConsole.WriteLine(a + 1);")));
        Assert.False(Holds(Markdown(code), Example("", "    " + code.Replace("\n", "\n    ", StringComparison.Ordinal) + "\nx")));
        Assert.False(Holds(Markdown("using A;\n" + code), Example("using A;\nusing B;", code)));
        Assert.False(Holds(Markdown("using A;\nusing B;\n" + code), Example("using A;", code)));
        var explanation = ReadmeExampleFiles.Explain(Readme, ReadmeExampleFiles.ParseCodeBlocks(Markdown(code))[0],
            ReadmeExampleFiles.ParseRegions("E.cs", Example("", "var a = 2;\nConsole.WriteLine(a);")));
        Assert.Contains("differs at line 1", explanation, StringComparison.Ordinal);
        Assert.Contains("var a = 2;", explanation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("using System;", true)]
    [InlineData("using static System.Math;", true)]
    [InlineData("global using System.Net;", true)]
    [InlineData("using Channel = Firezone.PhoenixChannel.PhoenixChannel;", true)]
    [InlineData("using var file = new StreamWriter(\"x\");", false)]
    [InlineData("using StreamWriter file = new(\"x\");", false)]
    [InlineData("using (var f = File.OpenRead(\"x\"));", false)]
    [InlineData("await using var channel = new PhoenixChannel(options);", false)]
    [InlineData("using var tun = new InMemoryTun();  // comment", false)]
    public void Using_directives_are_told_from_using_statements(string line, bool directive) =>
        Assert.Equal(directive, ReadmeExampleFiles.IsUsingDirective(line));
}
