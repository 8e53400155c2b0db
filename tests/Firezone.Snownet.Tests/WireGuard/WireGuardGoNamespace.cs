using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;

namespace Firezone.Snownet.Tests.WireGuard;

/// <summary>
/// A network namespace (fzwg-*) joined to the host by a veth pair on a random /30 of 198.18.4.0/24, running
/// wireguard-go on a TUN interface with 198.18.104.2/24. Disposing kills wireguard-go and deletes the namespace.
/// </summary>
internal sealed class WireGuardGoNamespace : IDisposable
{
    public const int ListenPort = 51820;
    private readonly string _ip;
    private readonly string _wg;
    private Process? _daemon;
    private readonly string _keyFile;

    public string Namespace { get; }
    public string WgInterface { get; }
    public string HostVeth { get; }
    public IPAddress HostAddress { get; }
    public IPAddress NamespaceAddress { get; }
    public IPEndPoint WireGuardEndpoint => new(NamespaceAddress, ListenPort);
    public static readonly IPAddress TunnelAddress = IPAddress.Parse("198.18.104.2");
    public static readonly IPAddress OurTunnelAddress = IPAddress.Parse("198.18.104.1");
    public byte[] PrivateKey { get; } = new byte[32];
    public byte[] PublicKey { get; } = new byte[32];

    public static string? MissingPrerequisite()
    {
        if (!OperatingSystem.IsLinux()) return "needs Linux network namespaces";
        if (!ExternalProcess.IsRoot) return "needs root to create network namespaces and TUN devices";
        if (!File.Exists("/dev/net/tun")) return "needs /dev/net/tun";
        foreach (var tool in new[] { "ip", "wg", "wireguard-go", "ping" })
            if (ExternalProcess.FindOnPath(tool) is null) return $"needs '{tool}' (Debian packages iproute2, wireguard-tools, wireguard-go, iputils-ping)";
        return null;
    }

    public WireGuardGoNamespace()
    {
        _ip = ExternalProcess.FindOnPath("ip")!;
        _wg = ExternalProcess.FindOnPath("wg")!;
        var suffix = Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
        Namespace = $"fzwg-{suffix}";
        WgInterface = $"fzwg{suffix}";
        HostVeth = $"fzwh{suffix}";
        var vethNs = $"fzwn{suffix}";
        var block = RandomNumberGenerator.GetInt32(0, 64) * 4;
        HostAddress = IPAddress.Parse($"198.18.4.{block + 1}");
        NamespaceAddress = IPAddress.Parse($"198.18.4.{block + 2}");
        _keyFile = Path.Combine(Path.GetTempPath(), $"{Namespace}.key");
        Firezone.Snownet.WireGuard.X25519.GenerateKeyPair(PrivateKey, PublicKey);
        try
        {
            ExternalProcess.Check(_ip, "netns", "add", Namespace);
            ExternalProcess.Check(_ip, "link", "add", HostVeth, "type", "veth", "peer", "name", vethNs, "netns", Namespace);
            ExternalProcess.Check(_ip, "addr", "add", $"{HostAddress}/30", "dev", HostVeth);
            ExternalProcess.Check(_ip, "link", "set", HostVeth, "up");
            ExternalProcess.Check(_ip, "-n", Namespace, "addr", "add", $"{NamespaceAddress}/30", "dev", vethNs);
            ExternalProcess.Check(_ip, "-n", Namespace, "link", "set", vethNs, "up");
            ExternalProcess.Check(_ip, "-n", Namespace, "link", "set", "lo", "up");

            var psi = new ProcessStartInfo(_ip) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "netns", "exec", Namespace, ExternalProcess.FindOnPath("wireguard-go")!, "-f", WgInterface }) psi.ArgumentList.Add(a);
            psi.Environment["WG_PROCESS_FOREGROUND"] = "1";
            psi.Environment["LOG_LEVEL"] = "verbose";
            psi.Environment["WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD"] = "1"; // older builds refuse to run on Linux without it
            _daemon = Process.Start(psi) ?? throw new InvalidOperationException("wireguard-go did not start");
            _daemon.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (Log) Log.Add(e.Data); };
            _daemon.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (Log) Log.Add(e.Data); };
            _daemon.BeginOutputReadLine();
            _daemon.BeginErrorReadLine();

            var deadline = Stopwatch.StartNew();
            while (ExternalProcess.Run(_ip, ["-n", Namespace, "link", "show", WgInterface]).ExitCode != 0)
            {
                if (_daemon.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(10))
                    throw new InvalidOperationException("wireguard-go did not create its interface: " + string.Join('\n', Log));
                Thread.Sleep(50);
            }
            // The UAPI socket appears right after the interface.
            deadline.Restart();
            while (ExternalProcess.Run(_wg, ["show", WgInterface]).ExitCode != 0 && deadline.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(50);

            File.WriteAllText(_keyFile, Convert.ToBase64String(PrivateKey) + "\n");
            ExternalProcess.Check(_wg, "set", WgInterface, "private-key", _keyFile, "listen-port", ListenPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
            ExternalProcess.Check(_ip, "-n", Namespace, "addr", "add", $"{TunnelAddress}/24", "dev", WgInterface);
            ExternalProcess.Check(_ip, "-n", Namespace, "link", "set", WgInterface, "mtu", "1280", "up");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public List<string> Log { get; } = [];

    /// <summary>Adds our tunnel as the peer; with an endpoint wireguard-go can initiate.</summary>
    public void SetPeer(ReadOnlySpan<byte> ourPublicKey, IPEndPoint? ourEndpoint)
    {
        var args = new List<string> { "set", WgInterface, "peer", Convert.ToBase64String(ourPublicKey), "allowed-ips", "198.18.104.0/24" };
        if (ourEndpoint is not null) { args.Add("endpoint"); args.Add(ourEndpoint.ToString()); }
        ExternalProcess.Check(_wg, [.. args]);
    }

    public (int ExitCode, string Output) PingFromNamespace(int count) =>
        ExternalProcess.Run(_ip, ["netns", "exec", Namespace, "ping", "-c", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "-i", "0.2", "-W", "3", OurTunnelAddress.ToString()], TimeSpan.FromSeconds(30));

    public string Show() => ExternalProcess.Run(_wg, ["show", WgInterface]).Output;

    public void Dispose()
    {
        if (_daemon is { } d)
        {
            try
            {
                if (!d.HasExited) d.Kill(entireProcessTree: true);
                d.WaitForExit(5000);
            }
            catch (InvalidOperationException) { }
            d.Dispose();
            _daemon = null;
        }
        ExternalProcess.Run(_ip, ["netns", "del", Namespace]);
        ExternalProcess.Run(_ip, ["link", "del", HostVeth]);
        try { File.Delete(_keyFile); } catch (IOException) { }
        try { File.Delete($"/var/run/wireguard/{WgInterface}.sock"); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
