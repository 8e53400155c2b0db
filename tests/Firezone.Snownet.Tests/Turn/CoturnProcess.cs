using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>
/// A coturn <c>turnserver</c> on 127.0.0.1 with a free listening port, long-term credentials <c>u:p</c>, realm
/// <c>firezone</c>, loopback peers allowed, and a throw-away log and pid file. Disposing kills it and removes its files.
/// </summary>
internal sealed class CoturnProcess : IDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private CoturnProcess(Process process, string directory, IPEndPoint listen)
    {
        _process = process;
        _directory = directory;
        Listen = listen;
    }

    public const string Username = "u";
    public const string Password = "p";
    public const string Realm = "firezone";

    /// <summary>Where coturn listens.</summary>
    public IPEndPoint Listen { get; }

    /// <summary>The coturn log so far (for failure messages).</summary>
    public string Log
    {
        get
        {
            try
            {
                var files = Directory.GetFiles(_directory, "*.log");
                return string.Join("\n", files.Select(File.ReadAllText));
            }
            catch (IOException)
            {
                return "(no log)";
            }
        }
    }

    /// <summary>The turnserver binary, or null when coturn is not installed.</summary>
    public static string? FindBinary()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Append("/usr/bin").Append("/usr/local/bin"))
        {
            if (dir.Length == 0)
            {
                continue;
            }

            var candidate = Path.Combine(dir, "turnserver");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public static int FreeUdpPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>True if this host can bind a UDP socket on ::1.</summary>
    public static bool HasIPv6Loopback()
    {
        try
        {
            using var s = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Where coturn listens on ::1 when started with <c>dualStack</c>.</summary>
    public IPEndPoint ListenV6 => new(IPAddress.IPv6Loopback, Listen.Port);

    /// <summary>Starts coturn and waits until it answers a STUN Binding (at most ~30 s).</summary>
    public static CoturnProcess Start(string binary, params string[] extraArguments) => Start(binary, dualStack: false, extraArguments);

    /// <summary>Starts coturn (on 127.0.0.1, and on ::1 too if <paramref name="dualStack"/>) and waits until it answers.</summary>
    public static CoturnProcess Start(string binary, bool dualStack, params string[] extraArguments)
    {
        var directory = Directory.CreateTempSubdirectory("coturn-test-").FullName;
        var port = FreeUdpPort();
        var minPort = 20000 + Random.Shared.Next(0, 40000);
        if (dualStack)
        {
            extraArguments = [.. extraArguments, "--listening-ip", "::1", "--relay-ip", "::1"];
        }

        var args = new[]
        {
            "-n", "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1", "--listening-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--min-port", minPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--max-port", (minPort + 200).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--lt-cred-mech", "--user", $"{Username}:{Password}", "--realm", Realm, "--allow-loopback-peers",
            "--no-tls", "--no-dtls", "--no-tcp", "--no-cli", "--no-rfc5780", "--no-stdout-log", "--simple-log",
            "--log-file", Path.Combine(directory, "turn.log"), "--pidfile", Path.Combine(directory, "turn.pid"),
            "--userdb", Path.Combine(directory, "turndb"),
        };
        var info = new ProcessStartInfo(binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args.Concat(extraArguments))
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("turnserver did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var coturn = new CoturnProcess(process, directory, new IPEndPoint(IPAddress.Loopback, port));
        try
        {
            coturn.WaitUntilReady();
        }
        catch
        {
            coturn.Dispose();
            throw;
        }

        return coturn;
    }

    private void WaitUntilReady()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        s.ReceiveTimeout = 100;
        var request = new byte[20];
        request[1] = 0x01; // Binding request
        request[4] = 0x21; request[5] = 0x12; request[6] = 0xA4; request[7] = 0x42;
        Random.Shared.NextBytes(request.AsSpan(8, 12));
        var buffer = new byte[1500];
        for (var i = 0; i < 300; i++) // up to 30 s: a loaded CI machine starts turnserver slowly
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"turnserver exited with {_process.ExitCode}: {Log}");
            }

            s.SendTo(request, Listen);
            try
            {
                if (s.Receive(buffer) >= 20)
                {
                    return;
                }
            }
            catch (SocketException)
            {
                // not up yet
            }
        }

        throw new TimeoutException($"turnserver did not answer a Binding within 5 s: {Log}");
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}
