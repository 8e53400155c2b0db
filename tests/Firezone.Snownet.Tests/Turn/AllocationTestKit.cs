using System.Net;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>A request the allocation sent, decoded with the STUN codec.</summary>
internal sealed class SentRequest
{
    public SentRequest(Transmit transmit)
    {
        Assert.Null(transmit.Source); // traffic to relays goes out of any interface
        Destination = transmit.Destination;
        Bytes = transmit.Payload.ToArray();
        Assert.True(StunMessage.TryParse(Bytes, out var m), "allocation sent something that is not STUN");
        Method = m.Method;
        Class = m.Class;
        Id = m.TransactionId;
        foreach (var a in m.Attributes)
        {
            AttributeTypes.Add(a.Type);
        }

        Nonce = m.Nonce;
        Username = m.Username;
        Realm = m.Realm;
        Software = m.Software;
        Lifetime = m.TryGetLifetime(out var l) ? l : null;
        Channel = m.TryGetChannelNumber(out var c) ? c : null;
        Peer = m.TryGetXorPeerAddress(out var p) ? p : null;
        IntegrityValid = m.VerifyMessageIntegrity(AllocationTestKit.Key);
    }

    public IPEndPoint Destination { get; }
    public byte[] Bytes { get; }
    public StunMethod Method { get; }
    public StunClass Class { get; }
    public TransactionId Id { get; }
    public List<ushort> AttributeTypes { get; } = new();
    public string? Nonce { get; }
    public string? Username { get; }
    public string? Realm { get; }
    public string? Software { get; }
    public uint? Lifetime { get; }
    public ushort? Channel { get; }
    public IPEndPoint? Peer { get; }
    public bool IntegrityValid { get; }

    public bool Has(ushort type) => AttributeTypes.Contains(type);

    public override string ToString() => $"{Method} {Id} -> {Destination}";
}

internal delegate void AddAttributes(ref StunMessageBuilder builder);

internal static class AllocationTestKit
{
    public const string Username = "foobar";
    public const string Password = "baz";
    public const string Realm = "firezone";
    public const string Software = "snownet; session=TEST";

    public static readonly byte[] Key = StunCredentials.LongTermKey(Username, Realm, Password);
    /// <summary>The monotonic instant tests start at (an arbitrary origin: nothing may depend on its value).</summary>
    public static readonly TimeSpan T0 = TimeSpan.FromHours(1);
    public static readonly IPEndPoint RelayV4 = IPEndPoint.Parse("127.0.0.1:3478");
    public static readonly IPEndPoint RelayV6 = IPEndPoint.Parse("[::1]:3478");
    public static readonly IPEndPoint LocalV4 = IPEndPoint.Parse("192.168.1.10:50000");
    public static readonly IPEndPoint LocalV6 = IPEndPoint.Parse("[fd00::10]:50000");
    public static readonly IPEndPoint MappedV4 = IPEndPoint.Parse("203.0.113.5:40000");
    public static readonly IPEndPoint MappedV6 = IPEndPoint.Parse("[2001:db8::5]:40000");
    public static readonly IPEndPoint RelayedV4 = IPEndPoint.Parse("203.0.113.10:49152");
    public static readonly IPEndPoint RelayedV6 = IPEndPoint.Parse("[2001:db8::10]:49152");
    public static readonly IPEndPoint PeerV4 = IPEndPoint.Parse("198.51.100.20:51820");
    public static readonly IPEndPoint PeerV4b = IPEndPoint.Parse("198.51.100.21:51820");
    public static readonly IPEndPoint PeerV6 = IPEndPoint.Parse("[2001:db8::20]:51820");
    public const string Nonce1 = "5af48497-63e6-7544-25c0-b5e606c6caf2";
    public const string Nonce2 = "0d5c3a8e-0000-4000-8000-1234567890ab";

    public static Allocation NewAllocation(RelaySocket? server = null, TimeSpan? now = null) =>
        new(server ?? RelaySocket.FromV4(RelayV4), Username, Password, Realm, Software, now ?? T0, RandomSource.Seeded(7));

    public static List<SentRequest> Drain(Allocation allocation)
    {
        var list = new List<SentRequest>();
        while (allocation.PollTransmit() is { } t)
        {
            list.Add(new SentRequest(t));
        }

        return list;
    }

    public static SentRequest Single(Allocation allocation)
    {
        var sent = Drain(allocation);
        Assert.Single(sent);
        return sent[0];
    }

    public static List<AllocationEvent> Events(Allocation allocation)
    {
        var list = new List<AllocationEvent>();
        while (allocation.PollEvent() is { } e)
        {
            list.Add(e);
        }

        return list;
    }

    public static byte[] Response(SentRequest request, StunClass cls, AddAttributes? attributes = null, bool sign = true)
    {
        Span<byte> buffer = stackalloc byte[1500];
        var b = new StunMessageBuilder(buffer, request.Method, cls, request.Id);
        attributes?.Invoke(ref b);
        if (sign)
        {
            b.AddMessageIntegrity(Key);
        }

        return b.ToArray();
    }

    public static byte[] BindingSuccess(SentRequest request, IPEndPoint mapped) =>
        Response(request, StunClass.SuccessResponse, (ref StunMessageBuilder b) => b.AddXorMappedAddress(mapped), sign: false);

    public static byte[] AllocateSuccess(SentRequest request, IPEndPoint? v4, IPEndPoint? v6, uint lifetime = 600, IPEndPoint? mapped = null) =>
        Response(request, StunClass.SuccessResponse, (ref StunMessageBuilder b) =>
        {
            if (v4 is not null)
            {
                b.AddXorRelayedAddress(v4);
            }

            if (v6 is not null)
            {
                b.AddXorRelayedAddress(v6);
            }

            b.AddXorMappedAddress(mapped ?? MappedV4);
            b.AddLifetime(lifetime);
        });

    public static byte[] RefreshSuccess(SentRequest request, uint lifetime = 600) =>
        Response(request, StunClass.SuccessResponse, (ref StunMessageBuilder b) => b.AddLifetime(lifetime));

    public static byte[] ChannelBindSuccess(SentRequest request) => Response(request, StunClass.SuccessResponse);

    public static byte[] Error(SentRequest request, int code, string? nonce = null, string? realm = null, bool sign = true) =>
        Response(request, StunClass.ErrorResponse, (ref StunMessageBuilder b) =>
        {
            b.AddErrorCode(code);
            if (realm is not null)
            {
                b.AddRealm(realm);
            }

            if (nonce is not null)
            {
                b.AddNonce(nonce);
            }
        }, sign);

    public static bool Feed(Allocation allocation, SentRequest request, byte[] response, TimeSpan now, IPEndPoint? local = null) =>
        allocation.HandleInput(response, request.Destination, local ?? (request.Destination.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? LocalV6 : LocalV4), now);

    /// <summary>Binding → success → Allocate → 401(nonce) → Allocate(nonce) → success. Returns the allocation with events drained.</summary>
    public static Allocation Allocated(TimeSpan? at = null, bool dual = true, RelaySocket? server = null)
    {
        var now = at ?? T0;
        var a = NewAllocation(server, now);
        var binding = Single(a);
        Assert.True(Feed(a, binding, BindingSuccess(binding, MappedV4), now));
        var allocate = Single(a);
        Assert.True(Feed(a, allocate, Error(allocate, 401, Nonce1, Realm), now));
        var allocate2 = Single(a);
        Assert.Equal(Nonce1, allocate2.Nonce);
        Assert.True(Feed(a, allocate2, AllocateSuccess(allocate2, RelayedV4, dual ? RelayedV6 : null), now));
        Events(a);
        Assert.Empty(Drain(a));
        return a;
    }

    /// <summary>Binds a channel to <paramref name="peer"/> and confirms it. Returns the channel number.</summary>
    public static ushort BoundChannel(Allocation a, IPEndPoint peer, TimeSpan now)
    {
        a.BindChannel(peer, now);
        var bind = Single(a);
        Assert.Equal(StunMethod.ChannelBind, bind.Method);
        Assert.True(Feed(a, bind, ChannelBindSuccess(bind), now));
        return bind.Channel!.Value;
    }
}
