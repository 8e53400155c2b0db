using System.Buffers.Binary;
using System.Net;
using Firezone.Connlib.Client;
using Firezone.Connlib.Model;
using Firezone.Snownet;

namespace Firezone.Connlib.Tests.Client;

/// <summary>Builders for client-state tests: resources, a client with a (silent) relay, packets, event draining.</summary>
internal static class ClientTestKit
{
    public static readonly DateTimeOffset Wall = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly IPAddress TunnelV4 = IPAddress.Parse("100.64.0.1");
    public static readonly IPAddress TunnelV6 = IPAddress.Parse("fd00:2021:1111::1");

    public static ResourceId Rid(int n) => new(new Guid(n, 0, 0, new byte[8]));

    public static GatewayId Gid(int n) => new(new Guid(n, 1, 0, new byte[8]));

    public static Site SiteOf(int n) => new(new SiteId(new Guid(n, 2, 0, new byte[8])), $"site {n}");

    public static CidrResource Cidr(int id, string network, int site = 1, string? name = null) =>
        new(Rid(id), IPNetwork.Parse(network), name ?? $"cidr {id}", null, [SiteOf(site)]);

    public static DnsResource DnsRes(int id, string pattern, int site = 1, string? name = null) =>
        new(Rid(id), pattern, name ?? $"dns {id}", null, [SiteOf(site)]);

    public static InternetResource Internet(int id, int site = 1) => new(Rid(id), InternetResource.DefaultName, [SiteOf(site)]);

    public static ClientState NewClient(TimeSpan now, bool withRelay = true)
    {
        var seed = new byte[32];
        seed[0] = 7;
        var client = new ClientState(seed, now, Wall + now);
        if (withRelay)
        {
            // A relay that never answers: enough for the node to sample it for new connections.
            client.UpdateRelays([], [new TurnRelay(new RelayId(Guid.Parse("00000000-0000-0000-0000-0000000000f1")),
                new IPEndPoint(IPAddress.Parse("198.18.50.1"), 3478), null, "1:x", "y")], now);
        }

        return client;
    }

    /// <summary>A valid X25519 public key (another node's).</summary>
    public static byte[] SomeGatewayKey()
    {
        using var node = new ServerNode(new byte[32], TimeSpan.Zero, Wall);
        return node.PublicKey.ToArray();
    }

    public static readonly Answer SomeAnswer = new(new Credentials("abcd", "efghijklmnopqrstuvwxyz"));

    public static List<ClientEvent> Drain(ClientState client)
    {
        var events = new List<ClientEvent>();
        while (client.PollEvent() is { } e)
        {
            events.Add(e);
        }

        return events;
    }

    /// <summary>An IPv4/UDP or IPv6/UDP packet from the tunnel address to <paramref name="destination"/>.</summary>
    public static byte[] Udp(IPAddress destination, ushort destinationPort = 443, ushort sourcePort = 50000, int payload = 16)
    {
        bool v4 = destination.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
        int header = v4 ? 20 : 40;
        var p = new byte[header + 8 + payload];
        var source = v4 ? TunnelV4 : TunnelV6;
        if (v4)
        {
            p[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
            p[8] = 64;
            p[9] = 17;
            source.TryWriteBytes(p.AsSpan(12), out _);
            destination.TryWriteBytes(p.AsSpan(16), out _);
        }
        else
        {
            p[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(8 + payload));
            p[6] = 17;
            p[7] = 64;
            source.TryWriteBytes(p.AsSpan(8), out _);
            destination.TryWriteBytes(p.AsSpan(24), out _);
        }

        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(header), sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(header + 2), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(header + 4), (ushort)(8 + payload));
        return p;
    }

    public static EncapsulateResult Send(ClientState client, byte[] packet, TimeSpan now) =>
        client.HandleTunInput(packet.ToArray(), new byte[Node.BufferSize], now);
}
