using System.Net;
using Firezone.Tun;
using Firezone.Tun.Packets;

namespace ReadmeExamples;

/// <summary>The code blocks of src/Firezone.Tun/README.md.</summary>
public static class TunReadme
{
    public static void ParseAndRewrite()
    {
        #region readme: src/Firezone.Tun/README.md
        using var tun = new InMemoryTun();  // or LinuxTun.Create() (Linux, CAP_NET_ADMIN)

        // What an application would send into the tunnel: a DNS query to 100.100.111.1.
        byte[] query = new byte[IpConstants.BufferSize];
        int n = PacketBuilder.Udp(query, IPAddress.Parse("100.64.0.1"), IPAddress.Parse("100.100.111.1"), 50000, 53, "query"u8);
        tun.TryInject(query.AsSpan(0, n));

        byte[] buffer = new byte[IpConstants.BufferSize];
        if (tun.TryRead(buffer, out int length) != TunReadStatus.Packet)
        {
            return; // WouldBlock: await tun.WaitReadableAsync(ct) and read again; Closed: the device is gone
        }

        // Never throws: false and the reason for anything that is not one valid IPv4/IPv6 packet of at most 1280 bytes.
        // (The two-argument overload returns the IpParseError alone: IpParseError.None when the packet is valid.)
        if (!IpPacket.TryParse(buffer.AsSpan(0, length), out IpPacket packet, out IpParseError error))
        {
            Console.WriteLine($"dropped: {error}"); // e.g. TooShort, InvalidVersion, TooLarge
            return;
        }

        if (packet.TryGetUdp(out UdpDatagram udp))
        {
            Console.WriteLine($"{packet.Source}:{udp.SourcePort} -> {packet.Destination}:{udp.DestinationPort}");
        }

        packet.SetDestination(IPAddress.Parse("198.51.100.53")); // checksums are updated incrementally
        packet.TrySetDestinationPort(5353);
        tun.TryWrite(buffer.AsSpan(0, packet.Length));            // to the OS; InMemoryTun: TryTakeWritten(out var written)
        #endregion
    }
}
