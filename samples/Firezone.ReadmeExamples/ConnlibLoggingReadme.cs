using Firezone.Connlib.Logging;
using Microsoft.Extensions.Logging;

namespace ReadmeExamples;

/// <summary>The logging code block of src/Firezone.Connlib/README.md: a complete example, so this file has exactly its usings.</summary>
public static class ConnlibLoggingReadme
{
    public static void LoggingExample()
    {
        #region readme: src/Firezone.Connlib/README.md
        using var file = new StreamWriter("connlib.jsonl", append: true);
        using (var loggerFactory = LoggerFactory.Create(builder => builder
            .SetMinimumLevel(RustLogLevel.Parse(Environment.GetEnvironmentVariable("RUST_LOG")))
            .AddFirezoneLogging(LogFormat.Human)                // stdout, hosts-and-tun.md §5.2
            .AddFirezoneLogging(LogFormat.GoogleCloud, file)))  // JSONL, §5.3
        {
            var logger = loggerFactory.CreateLogger("Firezone.Example");
            logger.LogInformation("Tunnel ready in {Elapsed}", TimeSpan.FromSeconds(1.5));
        } // disposing the factory writes what is still queued and flushes both writers
        #endregion
    }
}
