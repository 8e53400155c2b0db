using System.Buffers.Binary;
using System.Net;
using System.Text;
using Firezone.Tun;
using Firezone.Tun.Packets;

namespace Firezone.Demo;

/// <summary>
/// The hosts behind the demo's gateway, all in one task on the gateway's in-memory TUN device: whatever the gateway
/// writes to its TUN (traffic for resources) is answered here and injected back, as a LAN behind a real gateway would.
/// It answers ICMP echo (IPv4 and IPv6), echoes UDP datagrams back, and answers DNS on UDP port 53 with the A/AAAA
/// records of <see cref="Records"/> (NXDOMAIN for other names, an empty answer for other types).
/// </summary>
internal sealed class DemoResourceHost(InMemoryTun gatewayTun)
{
    /// <summary>The names the resource host's DNS server answers (lowercase, no trailing dot).</summary>
    public Dictionary<string, IPAddress[]> Records { get; } = new(StringComparer.Ordinal);

    /// <summary>Packets that reached the resources.</summary>
    public long Received => Interlocked.Read(ref _received);

    private long _received;

    /// <summary>Answers until <paramref name="cancellationToken"/> fires or the TUN closes.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var reply = new byte[1500];
        try
        {
            while (await gatewayTun.ReadWrittenAsync(cancellationToken) is { } packet)
            {
                Interlocked.Increment(ref _received);
                int n = Answer(packet, reply);
                if (n > 0)
                {
                    gatewayTun.TryInject(reply.AsSpan(0, n));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The reply to <paramref name="packet"/> written to <paramref name="reply"/>; 0 for none.</summary>
    public int Answer(byte[] packet, Span<byte> reply)
    {
        if (IpPacket.TryParse(packet, out var ip) != IpParseError.None)
        {
            return 0;
        }

        if (ip.TryGetIcmp(out var icmp) && icmp.Type == (ip.IsIpv4 ? IcmpMessage.V4EchoRequest : IcmpMessage.V6EchoRequest))
        {
            return PacketBuilder.EchoReply(reply, ip.Destination, ip.Source, icmp.Identifier, icmp.Sequence, icmp.Body);
        }

        if (!ip.TryGetUdp(out var udp))
        {
            return 0;
        }

        if (udp.DestinationPort != 53)
        {
            return PacketBuilder.Udp(reply, ip.Destination, ip.Source, udp.DestinationPort, udp.SourcePort, udp.Payload);
        }

        Span<byte> answer = stackalloc byte[512];
        int length = AnswerDns(udp.Payload, answer);
        return length == 0 ? 0 : PacketBuilder.Udp(reply, ip.Destination, ip.Source, 53, udp.SourcePort, answer[..length]);
    }

    /// <summary>A DNS answer to a one-question query (RFC 1035 §4.1): QR, RD copied, RA, the question, then the records.</summary>
    private int AnswerDns(ReadOnlySpan<byte> query, Span<byte> answer)
    {
        if (query.Length < 12 || BinaryPrimitives.ReadUInt16BigEndian(query[4..]) != 1 || (query[2] & 0x80) != 0)
        {
            return 0;
        }

        // The question: labels up to the root, then type and class.
        var name = new StringBuilder();
        int at = 12;
        while (at < query.Length && query[at] != 0)
        {
            int label = query[at];
            if (label > 63 || at + 1 + label > query.Length)
            {
                return 0;
            }

            name.Append(name.Length == 0 ? "" : ".").Append(Encoding.ASCII.GetString(query.Slice(at + 1, label)).ToLowerInvariant());
            at += 1 + label;
        }

        int questionEnd = at + 5;
        if (questionEnd > query.Length || questionEnd > answer.Length)
        {
            return 0;
        }

        ushort type = BinaryPrimitives.ReadUInt16BigEndian(query[(at + 1)..]);
        query[..questionEnd].CopyTo(answer);
        answer[2] = (byte)(0x80 | (query[2] & 0x01)); // QR, RD copied
        bool known = Records.TryGetValue(name.ToString(), out var addresses);
        answer[3] = (byte)(known ? 0x80 : 0x83); // RA; NOERROR or NXDOMAIN
        answer[4..12].Clear();
        answer[5] = 1;
        int count = 0;
        int offset = questionEnd;
        foreach (var address in addresses ?? [])
        {
            bool v6 = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
            if ((type == 1 && v6) || (type == 28 && !v6) || (type != 1 && type != 28) || offset + 12 + (v6 ? 16 : 4) > answer.Length)
            {
                continue;
            }

            ReadOnlySpan<byte> header = [0xC0, 0x0C, 0, (byte)type, 0, 1, 0, 0, 0, 60, 0, (byte)(v6 ? 16 : 4)];
            header.CopyTo(answer[offset..]);
            address.TryWriteBytes(answer[(offset + 12)..], out _);
            offset += 12 + (v6 ? 16 : 4);
            count++;
        }

        BinaryPrimitives.WriteUInt16BigEndian(answer[6..], (ushort)count);
        return offset;
    }
}
