using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;

namespace Firezone.EndToEnd.Tests.Relay;

/// <summary>Starts processes for interop tests on loopback and always cleans them up.</summary>
internal sealed class ExternalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _standardOutput = new();
    private readonly StringBuilder _standardError = new();

    private ExternalProcess(Process process)
    {
        _process = process;
    }

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

    /// <summary>Only what the process wrote to stdout (<see cref="Output"/> interleaves both streams).</summary>
    public string StandardOutput
    {
        get
        {
            lock (_output)
            {
                return _standardOutput.ToString();
            }
        }
    }

    /// <summary>Only what the process wrote to stderr.</summary>
    public string StandardError
    {
        get
        {
            lock (_output)
            {
                return _standardError.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public int Id => _process.Id;

    public static ExternalProcess Start(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info };
        var result = new ExternalProcess(process);
        process.OutputDataReceived += (_, e) => result.Append(e.Data, result._standardOutput);
        process.ErrorDataReceived += (_, e) => result.Append(e.Data, result._standardError);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    private void Append(string? line, StringBuilder stream)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
            stream.AppendLine(line);
        }
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            _process.WaitForExit(); // flush redirected output
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Sends a POSIX signal (15 = SIGTERM) to the process.</summary>
    public void Signal(int signal) => _ = NativeMethods.Kill(_process.Id, signal);

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
}

internal static partial class NativeMethods
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);
}

/// <summary>Free loopback ports and tool discovery.</summary>
internal static class Loopback
{
    /// <summary>True when a UDP socket can bind this family's loopback address (IPv6 may be disabled).</summary>
    public static bool Has(AddressFamily family)
    {
        try
        {
            using var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback, 0));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static int FreeUdpPort(AddressFamily family = AddressFamily.InterNetwork)
    {
        using var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public static int FreeTcpPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Sends <paramref name="request"/> on a connected UDP socket and returns the first answer; up to 5 tries, each bounded by the socket's receive timeout.</summary>
    public static byte[] Exchange(Socket socket, byte[] request)
    {
        var buffer = new byte[1500];
        for (int attempt = 0; attempt < 5; attempt++)
        {
            socket.Send(request);
            try
            {
                return buffer[..socket.Receive(buffer)];
            }
            catch (SocketException)
            {
            }
        }

        throw new TimeoutException("no response from the relay");
    }

    /// <summary>The relay host's flags for a standalone relay on 127.0.0.1 (callers append what their test needs).</summary>
    public static List<string> RelayHostArguments(int port, int health, int lowest, int highest, string secret) =>
    [
        "--public-ip4-addr", "127.0.0.1", "--listen-address", "127.0.0.1", "--listen-port", Invariant(port),
        "--lowest-port", Invariant(lowest), "--highest-port", Invariant(highest), "--stamp-secret", secret,
        "--health-check-addr", $"127.0.0.1:{Invariant(health)}",
    ];

    private static string Invariant(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A range of <paramref name="count"/> consecutive UDP ports that are free right now.</summary>
    public static (int Lowest, int Highest) FreeUdpRange(int count)
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            int lowest = Random.Shared.Next(20000, 32000);
            bool free = true;
            for (int port = lowest; port < lowest + count && free; port++)
            {
                try
                {
                    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                    socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
                }
                catch (SocketException)
                {
                    free = false;
                }
            }

            if (free)
            {
                return (lowest, lowest + count - 1);
            }
        }

        throw new InvalidOperationException("No free UDP port range found.");
    }

    public static string? FindTool(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Append("/usr/bin").Append("/usr/sbin"))
        {
            string path = Path.Combine(directory, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }

    /// <summary>The relay host built next to this test assembly's configuration.</summary>
    public static string? FindRelayHost()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        string configuration = directory.Parent?.Name ?? "Debug"; // .../bin/<Configuration>/net10.0/
        for (var d = directory; d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Firezone.sln")))
            {
                foreach (string config in new[] { configuration, "Debug", "Release" })
                {
                    string path = Path.Combine(d.FullName, "samples", "Firezone.Relay", "bin", config, "net10.0", "firezone-relay.dll");
                    if (File.Exists(path))
                    {
                        return path;
                    }
                }

                return null;
            }
        }

        return null;
    }

    /// <summary>
    /// Starts the relay host with <paramref name="arguments"/> and waits, up to 60 s, until its health endpoint on
    /// 127.0.0.1:<paramref name="healthPort"/> answers 200: its sockets are bound by then, so no test has to guess how long
    /// a cold <c>dotnet</c> start takes on a loaded machine.
    /// </summary>
    public static async Task<ExternalProcess> StartHealthyRelayAsync(
        IEnumerable<string> arguments, int healthPort, IReadOnlyDictionary<string, string>? environment = null)
    {
        string? host = FindRelayHost();
        Assert.SkipWhen(host is null, "samples/Firezone.Relay is not built (build the solution first)");
        var process = ExternalProcess.Start("dotnet", arguments.Prepend(host!), environment);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (process.HasExited)
            {
                break;
            }

            try
            {
                if ((await http.GetAsync($"http://127.0.0.1:{healthPort}/healthz", TestContext.Current.CancellationToken)).IsSuccessStatusCode)
                {
                    return process;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
            {
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        bool exited = process.HasExited;
        await process.DisposeAsync();
        Assert.Fail($"the relay did not become healthy within {waited.Elapsed.TotalSeconds:F0} s (exited: {exited}):\n{process.Output}");
        return null!;
    }

    /// <summary>Waits, up to <paramref name="timeout"/>, until some process has a UDP socket bound to <paramref name="port"/> (read from /proc/net/udp).</summary>
    public static async Task WaitUntilUdpPortBoundAsync(int port, TimeSpan timeout, ExternalProcess owner)
    {
        string suffix = $":{port:X4}";
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < timeout)
        {
            foreach (string line in File.ReadLines("/proc/net/udp").Skip(1))
            {
                string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 1 && fields[1].EndsWith(suffix, StringComparison.Ordinal))
                {
                    return;
                }
            }

            Assert.False(owner.HasExited, $"the process that should bind UDP port {port} exited:\n{owner.Output}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"nothing bound UDP port {port} within {timeout.TotalSeconds:F0} s:\n{owner.Output}");
    }
}
