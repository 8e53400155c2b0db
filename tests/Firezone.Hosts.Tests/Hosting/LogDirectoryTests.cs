using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Firezone.Connlib.Hosting;
using Microsoft.Extensions.Logging;

namespace Firezone.Hosts.Tests.Hosting;

/// <summary>The client's log files (hosts-and-tun.md §5.1–§5.3): names, mode 0640, one JSON object per line that the seed notes' jq command reads.</summary>
public sealed partial class LogDirectoryTests
{
    private static readonly string[] Messages = ["Tunnel ready", "quote \" and backslash \\ and tab\t", "line\nbreak", "ünïcødé ✓", ""];

    private static (string Jsonl, string Human) WriteLogs(TempDirectory dir)
    {
        var files = LogDirectory.Open(dir.Path, DateTimeOffset.UtcNow);
        using (var factory = LoggerFactory.Create(builder => files.AddTo(builder.SetMinimumLevel(LogLevel.Trace))))
        {
            var logger = factory.CreateLogger("Firezone.Client");
            foreach (string message in Messages)
            {
                logger.LogInformation("{Text}", message);
            }

            logger.LogTrace("trace becomes DEBUG");
            logger.LogWarning("warn becomes WARNING with {Count} and {Flag}", 3, true);
            logger.LogError(new InvalidOperationException("boom"), "failed");
        }

        files.Dispose();
        return (files.JsonlPath, files.HumanPath);
    }

    [Fact]
    public void Files_are_named_connlib_with_the_utc_start_time_and_have_mode_0640()
    {
        using var dir = new TempDirectory();
        var (jsonl, human) = WriteLogs(dir);
        Assert.Matches(StemPattern(), Path.GetFileName(jsonl));
        Assert.Equal(Path.ChangeExtension(jsonl, ".log"), human);
        Assert.Equal((UnixFileMode)0b110_100_000, File.GetUnixFileMode(jsonl));
        Assert.Equal((UnixFileMode)0b110_100_000, File.GetUnixFileMode(human));
    }

    [Fact]
    public void Each_jsonl_line_is_one_object_with_time_severity_and_message()
    {
        using var dir = new TempDirectory();
        var (jsonl, _) = WriteLogs(dir);
        var lines = File.ReadAllLines(jsonl);
        Assert.Equal(Messages.Length + 3, lines.Length);
        var severities = new List<string>();
        foreach (string line in lines)
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            Assert.Equal("time", root.EnumerateObject().First().Name);
            Assert.True(DateTimeOffset.TryParse(root.GetProperty("time").GetString(), CultureInfo.InvariantCulture, out _));
            Assert.EndsWith("Z", root.GetProperty("time").GetString(), StringComparison.Ordinal);
            severities.Add(root.GetProperty("severity").GetString()!);
            Assert.Equal(JsonValueKind.String, root.GetProperty("message").ValueKind);
        }

        Assert.Equal([.. Messages.Select(_ => "INFO"), "DEBUG", "WARNING", "ERROR"], severities);
    }

    /// <summary>The seed notes' <c>jq -r '"\(.time) \(.severity) \(.message)"'</c> reads every line, with the exact texts.</summary>
    [Fact]
    public void The_seed_notes_jq_command_reads_the_jsonl_file()
    {
        string? jq = TempDirectory.FindTool("jq");
        Assert.SkipWhen(jq is null, "jq is not installed");
        using var dir = new TempDirectory();
        var (jsonl, _) = WriteLogs(dir);
        var info = new ProcessStartInfo(jq!) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        info.ArgumentList.Add("-r");
        info.ArgumentList.Add("\"\\(.time) \\(.severity) \\(.message)\"");
        using var process = Process.Start(info)!;
        process.StandardInput.Write(File.ReadAllText(jsonl));
        process.StandardInput.Close();
        string output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(10_000));
        Assert.Equal(0, process.ExitCode);

        var expected = File.ReadAllLines(jsonl).Select(line =>
        {
            using var json = JsonDocument.Parse(line);
            var r = json.RootElement;
            return $"{r.GetProperty("time").GetString()} {r.GetProperty("severity").GetString()} {r.GetProperty("message").GetString()}\n";
        });
        Assert.Equal(string.Concat(expected), output);
        Assert.Contains(" INFO Tunnel ready\n", output, StringComparison.Ordinal);
        Assert.Contains(" INFO line\nbreak\n", output, StringComparison.Ordinal);
        Assert.Contains(" WARNING warn becomes WARNING with 3 and True\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_log_file_is_the_human_format_without_colours()
    {
        using var dir = new TempDirectory();
        var (_, human) = WriteLogs(dir);
        string text = File.ReadAllText(human);
        Assert.DoesNotContain('\u001b', text);
        Assert.Matches(HumanLinePattern(), text.Split('\n')[0]);
        Assert.Contains("  INFO Firezone.Client: Tunnel ready\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Clear_keeps_the_newest_pair_only()
    {
        using var dir = new TempDirectory();
        foreach (string name in new[] { "connlib.2024-01-01-00-00-00.log", "connlib.2024-01-01-00-00-00.jsonl", "connlib.2024-06-01-00-00-00.log", "connlib.2024-06-01-00-00-00.jsonl", "other.txt" })
        {
            File.WriteAllText(dir.File(name), "x");
        }

        Assert.Equal(3, LogDirectory.Clear(dir.Path));
        Assert.Equal(["connlib.2024-06-01-00-00-00.jsonl", "connlib.2024-06-01-00-00-00.log"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(0, LogDirectory.Clear(dir.File("missing")));
    }

    [GeneratedRegex(@"^connlib\.\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}\.jsonl$")]
    private static partial Regex StemPattern();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z  INFO Firezone\.Client: ")]
    private static partial Regex HumanLinePattern();
}
