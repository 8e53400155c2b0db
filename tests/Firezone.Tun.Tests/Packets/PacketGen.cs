using System.Net;
using FsCheck;
using FsCheck.Fluent;
using Firezone.Tun.Packets;

namespace Firezone.Tun.Tests.Packets;

/// <summary>What a generated packet should contain (the model the builders and parsers are checked against).</summary>
public sealed record PacketSpec(int Kind, IPAddress Src, IPAddress Dst, ushort A, ushort B, byte[] Payload)
{
    // Kind: 0 = UDP (A,B ports), 1 = TCP, 2 = echo request (A id, B seq), 3 = echo reply
    public bool V4 => Src.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;

    public int Build(Span<byte> buffer) => Kind switch
    {
        0 => PacketBuilder.Udp(buffer, Src, Dst, A, B, Payload),
        1 => PacketBuilder.Tcp(buffer, Src, Dst, A, B, Payload),
        2 => PacketBuilder.EchoRequest(buffer, Src, Dst, A, B, Payload),
        _ => PacketBuilder.EchoReply(buffer, Src, Dst, A, B, Payload),
    };

    public override string ToString() => $"kind {Kind} {Src} -> {Dst} {A}/{B} payload {Payload.Length}";
}

public static class PacketGen
{
    public static Gen<byte> Byte => Gen.Choose(0, 255).Select(i => (byte)i);
    public static Gen<ushort> UShort => Gen.Choose(0, 65535).Select(i => (ushort)i);
    public static Gen<byte[]> Bytes(int min, int max) => Gen.Choose(min, max).SelectMany(n => Gen.ArrayOf(Byte, n));
    public static Gen<IPAddress> V4Address => Gen.ArrayOf(Byte, 4).Select(b => new IPAddress(b));
    public static Gen<IPAddress> V6Address => Gen.ArrayOf(Byte, 16).Select(b => new IPAddress(b));

    public static Gen<PacketSpec> Spec(bool v4) =>
        from kind in Gen.Choose(0, 3)
        from src in v4 ? V4Address : V6Address
        from dst in v4 ? V4Address : V6Address
        from a in UShort
        from b in UShort
        from payload in Bytes(0, 1280 - (v4 ? 20 : 40) - (kind == 1 ? 20 : 8))
        select new PacketSpec(kind, src, dst, a, b, payload);

    public static Gen<PacketSpec> AnySpec => Gen.OneOf(Spec(true), Spec(false));

    public static Arbitrary<PacketSpec> AnySpecArb => AnySpec.ToArbitrary();
}
