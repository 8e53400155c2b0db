using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Firezone.DevPortal.Tests.Host;

/// <summary>The built dev portal executable as a child process; always killed on dispose.</summary>
internal sealed partial class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private HostProcess(Process process) => _process = process;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public int Id => _process.Id;

    public int ExitCode => _process.ExitCode;

    /// <summary>samples/Firezone.DevPortal's built dll, or null when it is not built.</summary>
    public static string? Find()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        string configuration = directory.Parent?.Name ?? "Debug"; // .../bin/<Configuration>/net10.0/
        for (var d = directory; d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Firezone.sln")))
            {
                return new[] { configuration, "Debug", "Release" }
                    .Select(c => Path.Combine(d.FullName, "samples", "Firezone.DevPortal", "bin", c, "net10.0", "firezone-dev-portal.dll"))
                    .FirstOrDefault(File.Exists);
            }
        }

        return null;
    }

    public static HostProcess Start(params string[] arguments)
    {
        string? dll = Find();
        Assert.SkipWhen(dll is null, "samples/Firezone.DevPortal is not built (build the solution first)");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll!);
        foreach (string a in arguments) info.ArgumentList.Add(a);
        var host = new HostProcess(Process.Start(info)!);
        host._process.OutputDataReceived += (_, e) => host.Append(e.Data);
        host._process.ErrorDataReceived += (_, e) => host.Append(e.Data);
        host._process.BeginOutputReadLine();
        host._process.BeginErrorReadLine();
        return host;
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            _process.WaitForExit(); // drains the redirected streams
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Waits until the output contains <paramref name="text"/>.</summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Output.Contains(text, StringComparison.Ordinal)) return true;
            if (_process.HasExited) return Output.Contains(text, StringComparison.Ordinal);
            await Task.Delay(50);
        }

        return false;
    }

    public void Signal(PosixSignal signal) => Assert.Equal(0, Kill(_process.Id, signal == PosixSignal.SIGTERM ? 15 : 2));

    /// <summary>Whether the child ignores <paramref name="signal"/> (inherited SIG_IGN, e.g. from a non-interactive shell's background job).</summary>
    public bool Ignores(int signal)
    {
        string? line = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && ((Convert.ToUInt64(line[7..].Trim(), 16) >> (signal - 1)) & 1) == 1;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
