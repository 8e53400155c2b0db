using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Firezone.Hosts.Tests.Hosts;

/// <summary>A built host (samples/…/bin/&lt;config&gt;/net10.0/&lt;name&gt;.dll) run as a process with captured output; killed on dispose. Shared by Firezone.Hosts.Tests and Firezone.DevPortal.Tests.</summary>
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

    public int ExitCode => _process.ExitCode;

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// The host's dll next to this test's build configuration, or null when it is not built. With
    /// <c>FIREZONE_TEST_NATIVE_HOSTS=1</c>, a host published with NativeAOT (<see cref="FindNative"/>) is preferred, so the
    /// whole suite can be run against the published client.
    /// </summary>
    public static string? Find(string project, string assembly)
    {
        if (Environment.GetEnvironmentVariable("FIREZONE_TEST_NATIVE_HOSTS") == "1" && FindNative(project, assembly) is { } native)
        {
            return native;
        }

        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        string configuration = directory.Parent?.Name ?? "Debug";
        for (var d = directory; d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Firezone.sln")))
            {
                return new[] { configuration, "Debug", "Release" }
                    .Select(c => Path.Combine(d.FullName, "samples", project, "bin", c, "net10.0", assembly + ".dll"))
                    .FirstOrDefault(File.Exists);
            }
        }

        return null;
    }

    /// <summary>
    /// The host published with NativeAOT for this machine (<c>dotnet publish samples/&lt;project&gt; -c Release -r linux-&lt;arch&gt;</c>
    /// writes samples/&lt;project&gt;/bin/Release/net10.0/linux-&lt;arch&gt;/publish/&lt;assembly&gt;), or null when it is not published.
    /// </summary>
    public static string? FindNative(string project, string assembly)
    {
        string rid = $"linux-{RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}";
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Firezone.sln")))
            {
                string binary = Path.Combine(d.FullName, "samples", project, "bin", "Release", "net10.0", rid, "publish", assembly);
                return File.Exists(binary) ? binary : null;
            }
        }

        return null;
    }

    /// <summary>Starts <c>dotnet &lt;dll&gt; &lt;arguments&gt;</c> (a native host, one not ending in .dll, is run itself), inside network namespace <paramref name="netns"/> when given (<c>ip netns exec</c> execs it, so the pid is the host's).</summary>
    public static HostProcess Start(string dll, IEnumerable<string> arguments, Dictionary<string, string?>? environment = null, string? netns = null)
    {
        bool managed = dll.EndsWith(".dll", StringComparison.Ordinal);
        string[] command = managed ? ["dotnet", dll] : [dll];
        var info = new ProcessStartInfo(netns is null ? command[0] : "ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in netns is null ? command[1..] : ["netns", "exec", netns, .. command])
        {
            info.ArgumentList.Add(a);
        }

        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (string name in new[] { "FIREZONE_TOKEN", "RUST_LOG", "NOTIFY_SOCKET", "FIREZONE_ID", "LOG_DIR", "FIREZONE_DNS_CONTROL" })
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            info.Environment[name] = value;
        }

        var process = new Process { StartInfo = info };
        var host = new HostProcess(process);
        process.OutputDataReceived += (_, e) => host.Append(e.Data);
        process.ErrorDataReceived += (_, e) => host.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            _process.WaitForExit();
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Waits until the output contains <paramref name="text"/> (or the process exits / 30 s pass).</summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < (timeout ?? TimeSpan.FromSeconds(30)))
        {
            if (Output.Contains(text, StringComparison.Ordinal))
            {
                return true;
            }

            if (_process.HasExited)
            {
                _process.WaitForExit();
                return Output.Contains(text, StringComparison.Ordinal);
            }

            await Task.Delay(50);
        }

        return false;
    }

    public void Signal(int signal) => _ = Kill(_process.Id, signal);

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>Whether the child ignores <paramref name="signal"/> (inherited SIG_IGN, e.g. from a non-interactive shell's background job).</summary>
    public bool Ignores(int signal)
    {
        string? line = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && ((Convert.ToUInt64(line[7..].Trim(), 16) >> (signal - 1)) & 1) == 1;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await WaitForExitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
