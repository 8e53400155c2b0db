using System.Net;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static Firezone.Snownet.Tests.Turn.AllocationTestKit;

namespace Firezone.Snownet.Tests.Turn;

public class AllocationPropertyTests
{
    public static class Generators
    {
        /// <summary>A response-shaped message for one of the allocation's requests: random class, code, attributes, signature.</summary>
        public sealed record FuzzResponse(bool Success, int ErrorCode, bool WithNonce, bool WithRealm, bool WrongRealm, bool WithMapped, bool WithV4, bool WithV6, uint? Lifetime, bool Sign, bool Corrupt);

        public static Arbitrary<FuzzResponse> Responses() =>
            (from success in ArbMap.Default.GeneratorFor<bool>()
             from code in Gen.Elements(300, 400, 401, 403, 420, 437, 438, 440, 441, 442, 443, 486, 500, 508)
             from nonce in ArbMap.Default.GeneratorFor<bool>()
             from realm in ArbMap.Default.GeneratorFor<bool>()
             from wrongRealm in Gen.Frequency((9, Gen.Constant(false)), (1, Gen.Constant(true)))
             from mapped in ArbMap.Default.GeneratorFor<bool>()
             from v4 in ArbMap.Default.GeneratorFor<bool>()
             from v6 in ArbMap.Default.GeneratorFor<bool>()
             from lifetime in Gen.OneOf(Gen.Constant<uint?>(null), Gen.Choose(0, 3600).Select(x => (uint?)x))
             from sign in Gen.Frequency((4, Gen.Constant(true)), (1, Gen.Constant(false)))
             from corrupt in Gen.Frequency((9, Gen.Constant(false)), (1, Gen.Constant(true)))
             select new FuzzResponse(success, code, nonce, realm, wrongRealm, mapped, v4, v6, lifetime, sign, corrupt))
            .ToArbitrary();

        public sealed record Step(int Kind, int Seconds, int PeerIndex, FuzzResponse Response);

        public static Arbitrary<Step[]> Steps() =>
            Gen.ArrayOf(
                    from kind in Gen.Choose(0, 5)
                    from seconds in Gen.Frequency((3, Gen.Choose(0, 3)), (1, Gen.Choose(0, 400)))
                    from peer in Gen.Choose(0, 3)
                    from response in Responses().Generator
                    select new Step(kind, seconds, peer, response))
                .Where(a => a.Length <= 60)
                .ToArbitrary();
    }

    private static readonly IPEndPoint[] Peers = [PeerV4, PeerV4b, PeerV6, IPEndPoint.Parse("[2001:db8::21]:1")];

    [Property]
    public bool Arbitrary_bytes_from_the_relay_never_throw(byte[] datagram, bool afterAllocation)
    {
        var a = afterAllocation ? Allocated() : NewAllocation();
        a.HandleInput(datagram, RelayV4, LocalV4, T0);
        a.TryDecapsulate(datagram, RelayV4, T0, out _, out _, out _);
        a.HandleTimeout(T0 + TimeSpan.FromSeconds(1));
        return true;
    }

    [Property]
    public bool Arbitrary_bytes_with_a_STUN_header_of_an_in_flight_request_never_throw(byte[] tail, byte type)
    {
        var a = NewAllocation();
        var binding = Single(a);
        var datagram = new byte[20 + (tail.Length & ~3)];
        binding.Bytes.AsSpan(0, 20).CopyTo(datagram);
        datagram[0] = (byte)(type & 0x01);
        datagram[1] = (byte)((type & 0x10) | 0x01);
        datagram[2] = (byte)((datagram.Length - 20) >> 8);
        datagram[3] = (byte)(datagram.Length - 20);
        tail.AsSpan(0, datagram.Length - 20).CopyTo(datagram.AsSpan(20));
        a.HandleInput(datagram, RelayV4, LocalV4, T0);
        a.HandleTimeout(T0 + TimeSpan.FromSeconds(1));
        return true;
    }

    /// <summary>
    /// Random operations and random (possibly signed, possibly corrupted) responses to whatever is in flight: the
    /// allocation never throws, keeps its invariants, never sends to anything but the relay, never sends ChannelData
    /// on a channel it did not confirm, and never schedules a wake-up in the past.
    /// </summary>
    [Property(Arbitrary = [typeof(Generators)], MaxTest = 200)]
    public Property Random_operations_and_responses_keep_the_invariants(Generators.Step[] steps)
    {
        var a = NewAllocation(RelaySocket.Dual(RelayV4, RelayV6));
        var now = T0;
        var pending = new List<SentRequest>();
        foreach (var step in steps)
        {
            now += TimeSpan.FromSeconds(step.Seconds);
            var peer = Peers[step.PeerIndex];
            switch (step.Kind)
            {
                case 0:
                    a.BindChannel(peer, now);
                    break;
                case 1:
                    a.Refresh(now);
                    break;
                case 2:
                    a.HandleTimeout(now);
                    break;
                case 3:
                    if (a.EncodeToPeer(peer, "data"u8, now) is { } t)
                    {
                        var channel = (ushort)((t.Payload.Span[0] << 8) | t.Payload.Span[1]);
                        if (!a.Channels.Records.TryGetValue(channel, out var record) || !record.Bound || !record.Peer.Equals(peer))
                        {
                            return false.Label($"ChannelData on unconfirmed channel {channel:x4}");
                        }
                    }

                    break;
                default:
                    if (pending.Count > 0)
                    {
                        var request = pending[step.PeerIndex % pending.Count];
                        var response = Build(request, step.Response);
                        a.HandleInput(response, request.Destination, request.Destination.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? LocalV6 : LocalV4, now);
                    }

                    break;
            }

            while (a.PollTransmit() is { } transmit)
            {
                if (!a.Matches(transmit.Destination))
                {
                    return false.Label($"sent to {transmit.Destination}");
                }

                pending.Add(new SentRequest(transmit));
                if (pending.Count > 8)
                {
                    pending.RemoveAt(0);
                }
            }

            while (a.PollEvent() is not null)
            {
            }

            if (a.HasAllocation != (a.RelayedV4 is not null || a.RelayedV6 is not null))
            {
                return false.Label("HasAllocation inconsistent");
            }

            if (a.PollTimeout() is { } timeout && timeout < now - TimeSpan.FromSeconds(1) && step.Kind == 2)
            {
                return false.Label($"timeout {timeout} in the past after HandleTimeout({now})");
            }

            if (a.IsSuspended && a.PollTimeout() is not null)
            {
                return false.Label("suspended but scheduled");
            }
        }

        return true.ToProperty();
    }

    private static byte[] Build(SentRequest request, Generators.FuzzResponse r)
    {
        var bytes = Response(request, r.Success ? StunClass.SuccessResponse : StunClass.ErrorResponse, (ref StunMessageBuilder b) =>
        {
            if (!r.Success)
            {
                b.AddErrorCode(r.ErrorCode);
            }

            if (r.WithRealm)
            {
                b.AddRealm(r.WrongRealm ? "other" : Realm);
            }

            if (r.WithNonce)
            {
                b.AddNonce(Nonce1);
            }

            if (r.WithV4)
            {
                b.AddXorRelayedAddress(RelayedV4);
            }

            if (r.WithV6)
            {
                b.AddXorRelayedAddress(RelayedV6);
            }

            if (r.WithMapped)
            {
                b.AddXorMappedAddress(MappedV4);
            }

            if (r.Lifetime is { } l)
            {
                b.AddLifetime(l);
            }
        }, r.Sign);
        if (r.Corrupt)
        {
            bytes[^1] ^= 0x55;
        }

        return bytes;
    }

    [Property(MaxTest = 50)]
    public Property Channel_table_agrees_with_a_brute_force_model(PositiveInt[] ops)
    {
        var channels = new AllocationChannels();
        var now = T0;
        foreach (var op in ops.Take(200))
        {
            var v = op.Get;
            var peer = new IPEndPoint(PeerV4.Address, 1000 + (v % 7));
            switch (v % 5)
            {
                case 0:
                    channels.NewChannelToPeer(peer, now);
                    break;
                case 1:
                    foreach (var n in channels.Records.Keys.ToArray())
                    {
                        if (channels.Records[n].Peer.Equals(peer))
                        {
                            channels.SetBound(n, now);
                        }
                    }

                    break;
                case 2:
                    now += TimeSpan.FromSeconds(v % 700);
                    break;
                case 3:
                    channels.ReceivedOn((ushort)(0x4000 + (v % 8)), now);
                    break;
                default:
                    channels.Remove((ushort)(0x4000 + (v % 8)));
                    break;
            }

            // One record per peer, and the index agrees with a scan.
            var byPeer = channels.Records.GroupBy(r => r.Value.Peer).ToList();
            if (byPeer.Any(g => g.Count() > 1))
            {
                return false.Label("two records for one peer");
            }

            foreach (var p in Enumerable.Range(0, 7).Select(i => new IPEndPoint(PeerV4.Address, 1000 + i)))
            {
                var scan = channels.Records
                    .Where(r => r.Value.Peer.Equals(p) && r.Value.Bound && now - r.Value.BoundAt < AllocationConstants.ChannelLifetime)
                    .Select(r => (ushort?)r.Key)
                    .FirstOrDefault();
                if (scan != channels.ConnectedChannelToPeer(p, now))
                {
                    return false.Label($"index disagrees for {p}");
                }
            }
        }

        return true.ToProperty();
    }
}
