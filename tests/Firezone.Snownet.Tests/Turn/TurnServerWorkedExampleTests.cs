using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Turn;
using static Firezone.Snownet.Tests.Turn.RelayTestKit;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>relay.md §6.1: the worked example, byte for byte, and the password vectors of §6.</summary>
public class TurnServerWorkedExampleTests
{
    private const string Secret = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    [Theory]
    [InlineData("4c98bf59c99b3e467ecd7cf9d6b3e5279645fca59be67bc5bb4af3cf653761ab", 1892160000UL, "n23JJ2wKKtt30oXi", "00hqldgk5xLeKKOB+xls9mHMVtgqzie9DulfgQwMv68")]
    [InlineData("1cab293a-4032-46f4-862a-40e5d174b0d2", 1685984278UL, "uvdgKvS9GXYZ_vmv", "6xUIoZ+QvxKhRasLifwfRkMXl+ETLJUsFkHlXjlHAkg")]
    [InlineData(Secret, 4102444800UL, "88Ubc3a8Nb", "MSSyoWesw7d1JOdlGe2+eu6mOsfNZWz3/q8GDjhOJsU")]
    public void Password_vectors(string secret, ulong expiry, string salt, string password) =>
        Assert.Equal(password, FirezoneCredentials.ComputePassword(secret, expiry, salt));

    [Fact]
    public void Key_vector()
    {
        var key = FirezoneCredentials.TryDeriveKey(Secret, "4102444800:88Ubc3a8Nb", out ulong expiry);
        Assert.Equal(4102444800UL, expiry);
        Assert.Equal("d6791c85759649c4d320b7f69d635060", Convert.ToHexStringLower(key!));
    }

    [Fact]
    public void Worked_example_byte_for_byte()
    {
        var randomBytes = new Queue<byte[]>([TestHex.Bytes("5af4849763e6754425c0b5e606c6caf2"), new byte[4]]);
        var server = new TurnServer(new TurnServerOptions
        {
            PublicIPv4 = IPAddress.Parse("203.0.113.10"),
            AuthSecret = Secret,
            Random = span => randomBytes.Dequeue().AsSpan(0, span.Length).CopyTo(span),
        });
        var client = new IPEndPoint(IPAddress.Parse("198.51.100.7"), 40000);
        var now = Start; // monotonic: any instant
        var utcNow = new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero); // before the username's expiry (4102444800)

        Assert.Null(server.HandleClientInput(TestHex.Bytes("00030008 2112a442 01020304 05060708 090a0b0c 00190004 11000000"), client, now, utcNow));
        AssertSend(Single(server), client, TestHex.Bytes("""
            01130048 2112a442 01020304 05060708 090a0b0c 00090010 00000401 556e6175 74686f72 697a6564 00140008 66697265
            7a6f6e65 00150024 35616634 38343937 2d363365 362d3735 34342d32 3563302d 62356536 30366336 63616632
            """));

        Assert.Null(server.HandleClientInput(TestHex.Bytes("""
            0003006c 2112a442 01020304 05060708 090a0b0c 00190004 11000000 00060015 34313032 34343438 30303a38 38556263
            3361384e 62000000 00150024 35616634 38343937 2d363365 362d3735 34342d32 3563302d 62356536 30366336 63616632
            000d0004 00000258 00080014 c4af7d18 50462986 304cd395 2291793d a7f1a527
            """), client, now, utcNow));
        var commands = Drain(server);
        Assert.Equal(2, commands.Count);
        AssertCreate(commands[0], 49152, AddressFamily.InterNetwork);
        AssertSend(commands[1], client, TestHex.Bytes("""
            01030038 2112a442 01020304 05060708 090a0b0c 00160008 0001e112 ea12d548 00200008 0001bd52 e721c045 000d0004
            00000258 00080014 b6a799d1 243538bb 1b38f57e ec2bf817 c6cdce90
            """));

        Assert.Null(server.HandleClientInput(TestHex.Bytes("""
            00090070 2112a442 0d0e0f10 11121314 15161718 00060015 34313032 34343438 30303a38 38556263 3361384e 62000000
            000c0004 40000000 00120008 0001eb7e e112a656 00150024 35616634 38343937 2d363365 362d3735 34342d32 3563302d
            62356536 30366336 63616632 00080014 bbed5e2e 0f8ee93e 376bd3e4 5f88d823 4e3807bc
            """), client, now, utcNow));
        AssertSend(Single(server), client, TestHex.Bytes("01090018 2112a442 0d0e0f10 11121314 15161718 00080014 c9988334 b175f95c 36c1272d 98a21e06 79f00d76"));

        var peer = new IPEndPoint(IPAddress.Parse("192.0.2.20"), 51820);
        var frame = TestHex.Bytes("40000004 70696e67");
        var toPeer = server.HandleClientInput(frame, client, now, utcNow);
        Assert.NotNull(toPeer);
        Assert.Equal(49152, toPeer.Value.AllocationPort);
        Assert.Equal(peer, toPeer.Value.Peer);
        Assert.Equal("70696E67", Convert.ToHexString(frame.AsSpan(toPeer.Value.PayloadOffset, toPeer.Value.PayloadLength)));

        var toClient = server.HandlePeerTraffic("hello"u8, peer, 49152, now);
        Assert.NotNull(toClient);
        Assert.Equal(client, toClient.Value.Client);
        var framed = ChannelData.Encode(toClient.Value.Channel, "hello"u8);
        Assert.Equal("4000000568656C6C6F", Convert.ToHexString(framed));
        Assert.Equal(9L, server.RelayedBytes);
        Assert.Empty(Drain(server));
    }
}
