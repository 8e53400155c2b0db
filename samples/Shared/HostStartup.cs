using System.Reflection;
using Firezone.Connlib.Hosting;
using Firezone.Connlib.Logging;
using Microsoft.Extensions.Logging;

namespace Firezone.Hosts;

/// <summary>
/// The start-up steps the host programs share: reporting a usage error, their version, and (client and gateway) the
/// RUST_LOG filter and the logger factory. Linked into each host project (no host references another).
/// </summary>
internal static class HostStartup
{
    /// <summary>Prints each line of <paramref name="error"/> as <c>error: …</c>, a blank line and the help; returns <paramref name="exitCode"/>.</summary>
    public static int UsageError(ArgumentException error, Action<TextWriter> writeHelp, int exitCode)
    {
        foreach (string line in error.Message.Split('\n'))
        {
            Console.Error.WriteLine($"error: {line}");
        }

        Console.Error.WriteLine();
        writeHelp(Console.Error);
        return exitCode;
    }

    /// <summary>The informational version of <paramref name="assemblyOf"/>'s assembly without the <c>+commit</c> suffix.</summary>
    public static string Version(Type assemblyOf) =>
        assemblyOf.Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>RUST_LOG's filter, or null after printing <c>Error: …</c> for directives that do not parse.</summary>
    public static RustLogFilter? ParseRustLog()
    {
        try
        {
            return RustLogFilter.Parse(Environment.GetEnvironmentVariable("RUST_LOG"));
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine($"Error: {e.Message}");
            return null;
        }
    }

    /// <summary>Human log lines on the console through <paramref name="filter"/>, and into <paramref name="files"/> when given.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // LogDirectory (the relay, which links this file too, does not call it)
    public static ILoggerFactory CreateLoggerFactory(RustLogFilter filter, LogDirectory? files = null) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(LogLevel.Trace).AddFilter((category, level) => filter.IsEnabled(category, level)).AddFirezoneLogging(LogFormat.Human);
        files?.AddTo(builder);
    });
}
