using System.Net;
using BenchmarkDotNet.Attributes;
using Firezone.Tun.Packets;

namespace Firezone.Benchmarks;

/// <summary>
/// Per-packet cost of header rewrites on a 1280-byte packet: incremental RFC 1624 updates versus recomputing every
/// checksum from scratch (upstream's approach), and in-place NAT46/NAT64.
/// Run: <c>dotnet run -c Release --project benchmarks/Firezone.Benchmarks -- --filter *PacketRewrite*</c>.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class PacketRewriteBenchmarks
{
    private readonly byte[] _udp4 = new byte[IpConstants.BufferSize];
    private readonly byte[] _tcp6 = new byte[IpConstants.BufferSize];
    private readonly byte[] _nat = new byte[IpConstants.BufferSize];
    private readonly byte[] _a4 = IPAddress.Parse("198.18.5.1").GetAddressBytes();
    private readonly byte[] _b4 = IPAddress.Parse("198.18.5.2").GetAddressBytes();
    private readonly byte[] _a6 = IPAddress.Parse("2001:2::1").GetAddressBytes();
    private readonly byte[] _b6 = IPAddress.Parse("2001:2::2").GetAddressBytes();
    private int _udp4Length, _tcp6Length, _natStart, _natLength;
    private bool _flip;

    [GlobalSetup]
    public void Setup()
    {
        _udp4Length = PacketBuilder.Udp(_udp4, new IPAddress(_a4), new IPAddress(_b4), 5000, 53, new byte[1280 - 28]);
        _tcp6Length = PacketBuilder.Tcp(_tcp6, new IPAddress(_a6), new IPAddress(_b6), 5000, 443, new byte[1280 - 60]);
        _natStart = IpConstants.Nat46Headroom;
        _natLength = PacketBuilder.Udp(_nat.AsSpan(_natStart), new IPAddress(_a4), new IPAddress(_b4), 5000, 53, new byte[1200]);
    }

    /// <summary>DNS-resource NAT style: destination address + destination port, incremental checksums (IPv4 UDP).</summary>
    [Benchmark(Baseline = true)]
    public int Ipv4Udp_rewrite_destination_and_port_incremental()
    {
        IpPacket.TryParse(_udp4.AsSpan(0, _udp4Length), out var p);
        _flip = !_flip;
        p.SetDestination(_flip ? _a4 : _b4);
        p.TrySetDestinationPort(_flip ? (ushort)53 : (ushort)5353);
        return p.Length;
    }

    /// <summary>The same rewrite followed by a full recomputation (what upstream's update_checksum does).</summary>
    [Benchmark]
    public int Ipv4Udp_rewrite_destination_and_port_then_recompute_from_scratch()
    {
        IpPacket.TryParse(_udp4.AsSpan(0, _udp4Length), out var p);
        _flip = !_flip;
        p.SetDestination(_flip ? _a4 : _b4);
        p.TrySetDestinationPort(_flip ? (ushort)53 : (ushort)5353);
        p.RecomputeChecksums();
        return p.Length;
    }

    /// <summary>IPv6 TCP source address rewrite, incremental.</summary>
    [Benchmark]
    public int Ipv6Tcp_rewrite_source_incremental()
    {
        IpPacket.TryParse(_tcp6.AsSpan(0, _tcp6Length), out var p);
        _flip = !_flip;
        p.SetSource(_flip ? _a6 : _b6);
        return p.Length;
    }

    /// <summary>NAT46 then NAT64 in place on a 1228-byte IPv4 UDP packet (two translations per call).</summary>
    [Benchmark]
    public int Nat46_then_Nat64_in_place()
    {
        IpTranslator.TranslateInPlace(_nat, _natStart, _natLength, _a6, _b6, out int s6, out int l6);
        IpTranslator.TranslateInPlace(_nat, s6, l6, _a4, _b4, out _natStart, out _natLength);
        return _natLength;
    }
}
