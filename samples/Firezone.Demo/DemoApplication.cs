using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using Firezone.Tun;
using Firezone.Tun.Packets;

namespace Firezone.Demo;

/// <summary>
/// The applications on the demo's client machine, on the client's in-memory TUN device: they write IP packets into
/// the tunnel (what the kernel would hand the TUN for ping, a UDP socket or a DNS lookup) and match what comes back.
/// One reader task dispatches every packet the client writes to its TUN to the request waiting for it.
/// </summary>
internal sealed class DemoApplication(InMemoryTun clientTun)
{
    private readonly ConcurrentDictionary<(byte Kind, ushort A, ushort B), TaskCompletionSource<byte[]>> _waiting = new();
    private int _next = 1;

    /// <summary>Reads the client's TUN until <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await clientTun.ReadWrittenAsync(cancellationToken) is { } packet)
            {
                if (KeyOf(packet) is { } key && _waiting.TryRemove(key, out var waiter))
                {
                    waiter.TrySetResult(packet);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>One ICMP echo from <paramref name="source"/> to <paramref name="destination"/>; its round-trip time, or null after <paramref name="timeout"/>.</summary>
    public async Task<TimeSpan?> PingAsync(IPAddress source, IPAddress destination, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ushort sequence = NextId();
        var packet = new byte[100];
        int n = PacketBuilder.EchoRequest(packet, source, destination, 0xF2, sequence, "firezone demo"u8);
        var started = Stopwatch.GetTimestamp();
        return await ExchangeAsync((1, 0xF2, sequence), packet.AsSpan(0, n).ToArray(), timeout, cancellationToken) is null
            ? null
            : Stopwatch.GetElapsedTime(started);
    }

    /// <summary>One UDP datagram to <paramref name="destination"/>:<paramref name="port"/>; true when it came back unchanged.</summary>
    public async Task<bool> UdpEchoAsync(IPAddress source, IPAddress destination, ushort port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ushort sourcePort = (ushort)(40000 + NextId() % 20000);
        byte[] payload = Encoding.ASCII.GetBytes($"echo {sourcePort}");
        var packet = new byte[100];
        int n = PacketBuilder.Udp(packet, source, destination, sourcePort, port, payload);
        var reply = await ExchangeAsync((2, sourcePort, port), packet.AsSpan(0, n).ToArray(), timeout, cancellationToken);
        return reply is not null && IpPacket.TryParse(reply, out var ip) == IpParseError.None && ip.TryGetUdp(out var udp) && udp.Payload.SequenceEqual(payload);
    }

    /// <summary>An A (or AAAA) lookup of <paramref name="name"/> at DNS server <paramref name="server"/> (a sentinel); the addresses answered, or null.</summary>
    public async Task<IPAddress[]?> ResolveAsync(IPAddress source, IPAddress server, string name, bool aaaa, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ushort id = NextId();
        var query = new List<byte> { (byte)(id >> 8), (byte)id, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
        foreach (var label in name.Split('.'))
        {
            query.Add((byte)label.Length);
            query.AddRange(Encoding.ASCII.GetBytes(label));
        }

        query.AddRange([0, 0, (byte)(aaaa ? 28 : 1), 0, 1]);
        var packet = new byte[60 + query.Count];
        int n = PacketBuilder.Udp(packet, source, server, 53, 53, query.ToArray());
        // DNS answers are matched by query id (the source port is the same for every lookup).
        var reply = await ExchangeAsync((3, id, 0), packet.AsSpan(0, n).ToArray(), timeout, cancellationToken);
        return reply is null ? null : Addresses(reply);
    }

    private async Task<byte[]?> ExchangeAsync((byte, ushort, ushort) key, byte[] packet, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var waiter = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[key] = waiter;
        clientTun.TryInject(packet);
        try
        {
            return await waiter.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            _waiting.TryRemove(key, out _);
            return null;
        }
    }

    private ushort NextId() => (ushort)Interlocked.Increment(ref _next);

    private static (byte, ushort, ushort)? KeyOf(byte[] packet)
    {
        if (IpPacket.TryParse(packet, out var ip) != IpParseError.None)
        {
            return null;
        }

        if (ip.TryGetIcmp(out var icmp) && icmp.Type == (ip.IsIpv4 ? IcmpMessage.V4EchoReply : IcmpMessage.V6EchoReply))
        {
            return ((byte)1, icmp.Identifier, icmp.Sequence);
        }

        if (ip.TryGetUdp(out var udp))
        {
            return udp.SourcePort == 53 && udp.Payload.Length >= 12
                ? ((byte)3, BinaryPrimitives.ReadUInt16BigEndian(udp.Payload), (ushort)0)
                : ((byte)2, udp.DestinationPort, udp.SourcePort);
        }

        return null;
    }

    /// <summary>The A/AAAA addresses of a DNS answer (names skipped by their length prefixes or compression pointers).</summary>
    private static IPAddress[]? Addresses(byte[] packet)
    {
        if (IpPacket.TryParse(packet, out var ip) != IpParseError.None || !ip.TryGetUdp(out var udp))
        {
            return null;
        }

        ReadOnlySpan<byte> m = udp.Payload;
        if (m.Length < 12)
        {
            return null;
        }

        int answers = BinaryPrimitives.ReadUInt16BigEndian(m[6..]);
        int at = SkipName(m, 12) + 4;
        var result = new List<IPAddress>();
        for (int i = 0; i < answers && at > 4 && at < m.Length; i++)
        {
            at = SkipName(m, at);
            if (at < 0 || at + 10 > m.Length)
            {
                break;
            }

            ushort type = BinaryPrimitives.ReadUInt16BigEndian(m[at..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(m[(at + 8)..]);
            at += 10;
            if (at + length > m.Length)
            {
                break;
            }

            if ((type == 1 && length == 4) || (type == 28 && length == 16))
            {
                result.Add(new IPAddress(m.Slice(at, length)));
            }

            at += length;
        }

        return [.. result];
    }

    private static int SkipName(ReadOnlySpan<byte> m, int at)
    {
        while (at < m.Length)
        {
            byte b = m[at];
            if (b == 0)
            {
                return at + 1;
            }

            if ((b & 0xC0) == 0xC0)
            {
                return at + 2;
            }

            at += 1 + b;
        }

        return -1;
    }
}
