using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Firezone.Snownet.Tests.WireGuard;

/// <summary>Runs external tools (ip, wg, ping) with bounded time, for the interop tests.</summary>
internal static partial class ExternalProcess
{
    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();

    public static bool IsRoot => OperatingSystem.IsLinux() && GetEuid() == 0;

    public static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                     .Concat(["/usr/sbin", "/sbin", "/usr/bin"]))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    public static (int ExitCode, string Output) Run(string file, IEnumerable<string> args, TimeSpan? timeout = null, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromSeconds(20)))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.WaitForExit(2000);
            return (-1, $"{file} {string.Join(' ', args)}: timed out\n{Safe(stdout)}{Safe(stderr)}");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    private static string Safe(Task<string> t) => t.IsCompletedSuccessfully ? t.Result : "";

    public static string Check(string file, params string[] args)
    {
        var (code, output) = Run(file, args);
        if (code != 0) throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', args)} failed ({code}): {output}");
        return output;
    }
}
