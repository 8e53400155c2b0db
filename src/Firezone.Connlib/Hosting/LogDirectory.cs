using System.Globalization;
using System.Runtime.Versioning;
using System.Text;
using Firezone.Connlib.Logging;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// The headless client's log files (hosts-and-tun.md §5.1): one pair per process start in the log directory,
/// <c>connlib.&lt;UTC yyyy-MM-dd-HH-mm-ss&gt;.jsonl</c> (the Google Cloud JSON lines of §5.3, one object per line, read
/// with <c>jq -r '"\(.time) \(.severity) \(.message)"'</c>) and <c>connlib.&lt;same&gt;.log</c> (the human format,
/// no colours). Opened append+create with mode 0640 (also when the directory had to be created: upstream's quirk of
/// skipping the mode then is not copied). No rotation while the process runs, as upstream.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class LogDirectory : IDisposable
{
    private readonly StreamWriter _jsonl;
    private readonly StreamWriter _human;

    private LogDirectory(string jsonlPath, string humanPath)
    {
        JsonlPath = jsonlPath;
        HumanPath = humanPath;
        _jsonl = Open(jsonlPath);
        try
        {
            _human = Open(humanPath);
        }
        catch
        {
            _jsonl.Dispose();
            throw;
        }
    }

    /// <summary>The JSONL file.</summary>
    public string JsonlPath { get; }

    /// <summary>The human-format file.</summary>
    public string HumanPath { get; }

    /// <summary>Creates <paramref name="directory"/> if needed and opens this run's two files, named after <paramref name="now"/> (UTC).</summary>
    /// <exception cref="IOException">The directory or a file cannot be created.</exception>
    public static LogDirectory Open(string directory, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        string stem = "connlib." + now.UtcDateTime.ToString("yyyy-MM-dd-HH-mm-ss", CultureInfo.InvariantCulture);
        return new LogDirectory(Path.Combine(directory, stem + ".jsonl"), Path.Combine(directory, stem + ".log"));
    }

    /// <summary>Adds the two files as log providers (JSONL and human) to <paramref name="builder"/>.</summary>
    public ILoggingBuilder AddTo(ILoggingBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddFirezoneLogging(LogFormat.GoogleCloud, _jsonl).AddFirezoneLogging(LogFormat.Human, _human);
    }

    /// <summary>
    /// Upstream's log clearing (<c>clear_logs.rs</c>): keeps the newest <c>connlib.*</c> pair (the greatest stem among
    /// <c>*.log</c>), deletes every file whose stem does not start with <c>connlib.</c> and every older <c>connlib.*</c>
    /// file. A missing directory is success. Returns how many files were deleted.
    /// </summary>
    public static int Clear(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
        {
            return 0;
        }

        string[] files = Directory.GetFiles(directory);
        string? newest = files.Where(f => f.EndsWith(".log", StringComparison.Ordinal)).Select(Path.GetFileNameWithoutExtension)
            .Where(s => s!.StartsWith("connlib.", StringComparison.Ordinal)).Max(StringComparer.Ordinal);
        int deleted = 0;
        foreach (string file in files)
        {
            string stem = Path.GetFileNameWithoutExtension(file);
            if (!stem.StartsWith("connlib.", StringComparison.Ordinal) || newest is null || string.CompareOrdinal(stem, newest) < 0)
            {
                File.Delete(file);
                deleted++;
            }
        }

        return deleted;
    }

    private static StreamWriter Open(string path)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.ReadWrite,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead,
        };
        var writer = new StreamWriter(path, new UTF8Encoding(false), options);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        return writer;
    }

    /// <summary>Closes the files. Dispose the logger factory first, so its providers have flushed what they queued.</summary>
    public void Dispose()
    {
        _jsonl.Dispose();
        _human.Dispose();
    }
}
