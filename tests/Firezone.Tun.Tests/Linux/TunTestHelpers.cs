using System.Net;
using Firezone.Tun.Io;
using Firezone.Tun.Linux;
using Firezone.Tun.Netlink;
using Firezone.Tun.Packets;

namespace Firezone.Tun.Tests.Linux;

/// <summary>A namespace with a LinuxTun configured through TunDeviceManager; disposes everything in order.</summary>
/// <remarks>Also compiled into Firezone.EndToEnd.Tests (linked), whose assembly is not Linux-only.</remarks>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class TunFixture : IDisposable
{
    public static readonly IPAddress TunV4 = IPAddress.Parse("198.18.5.1");
    public static readonly IPAddress TunV6 = IPAddress.Parse("2001:2::1");
    public static readonly IPNetwork RouteV4 = IPNetwork.Parse("198.18.5.128/25");
    public static readonly IPNetwork RouteV6 = IPNetwork.Parse("2001:2:0:6::/64");
    public static readonly IPAddress RemoteV4 = IPAddress.Parse("198.18.5.200");
    public static readonly IPAddress RemoteV6 = IPAddress.Parse("2001:2:0:6::1");

    public NetNamespace Ns { get; }
    public LinuxTun Tun { get; }
    public TunDeviceManager Manager { get; }

    private TunFixture(NetNamespace ns, LinuxTun tun, TunDeviceManager manager)
    {
        Ns = ns;
        Tun = tun;
        Manager = manager;
    }

    /// <summary>Namespace + device (+ addresses and routes when <paramref name="configure"/>).</summary>
    public static TunFixture Create(bool configure = true, TunReadMode mode = TunReadMode.Default, bool offload = false)
    {
        var ns = NetNamespace.Create();
        LinuxTun? tun = null;
        TunDeviceManager? manager = null;
        try
        {
            tun = ns.Run(() => offload ? LinuxTun.CreateWithOffload() : LinuxTun.Create(readMode: mode));
            manager = ns.Run(() => new TunDeviceManager());
            if (configure)
            {
                manager.SetAddresses(TunV4, TunV6);
                manager.SetRoutes([RouteV4, RouteV6]);
            }
            return new TunFixture(ns, tun, manager);
        }
        catch
        {
            manager?.Dispose();
            tun?.Dispose();
            ns.Dispose();
            throw;
        }
    }

    /// <summary>Reads packets until one matches (skipping kernel IPv6 chatter such as router solicitations).</summary>
    public async Task<byte[]> ReadMatchingAsync(Func<byte[], bool> match, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        byte[] buffer = new byte[IpConstants.BufferSize];
        var seen = new List<string>();
        try
        {
            while (true)
            {
                var status = Tun.TryRead(buffer.AsSpan(IpConstants.Nat46Headroom, IpConstants.MaxPacketSize), out int n);
                if (status == TunReadStatus.Closed) throw new InvalidOperationException("device closed");
                if (status == TunReadStatus.Packet)
                {
                    byte[] packet = buffer.AsSpan(IpConstants.Nat46Headroom, n).ToArray();
                    if (match(packet)) return packet;
                    seen.Add(Describe(packet));
                    continue;
                }
                await Tun.WaitReadableAsync(cts.Token);
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no matching packet; saw: {string.Join("; ", seen)}");
        }
    }

    public static string Describe(byte[] packet)
        => IpPacket.TryParse(packet, out var p) == IpParseError.None ? p.ToString() : $"unparsable {packet.Length} bytes";

    public void Dispose()
    {
        try { Manager.Dispose(); }
        finally
        {
            try { Tun.Dispose(); }
            finally { Ns.Dispose(); }
        }
    }
}
