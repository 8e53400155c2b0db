using System.Net;
using Firezone.Connlib.Gateway;
using Firezone.Tun.Packets;
using FsCheck;
using FsCheck.Fluent;

namespace Firezone.Connlib.Tests.Gateway;

/// <summary>
/// The gateway's security properties over random grants (CIDR, DNS with NAT, internet; random filters and expiries),
/// random packets and random (also spoofed) sources, driven with real WireGuard traffic from a Snownet client node.
/// The oracle is <see cref="GrantModel"/>, an independent restatement of the rules. 1,000 cases each.
/// </summary>
public sealed class GatewaySecurityProperties : IDisposable
{
    private const int Cases = 1000;
    private readonly GatewayHarness _h = GatewayHarness.Connect(seed: 7);
    private readonly byte[] _packet = new byte[1500];

    public void Dispose() => _h.Dispose();

    private static readonly Arbitrary<(GrantSpec[] Grants, PacketSpec[] Packets)> Cases1 = (
        from gn in Gen.Choose(1, 5)
        from grants in Gen.ArrayOf(GrantModel.GrantGen, gn)
        from pn in Gen.Choose(5, 25)
        from packets in Gen.ArrayOf(GrantModel.PacketGen, pn)
        select (grants, packets)).ToArbitrary();

    private static readonly Arbitrary<(GrantSpec[] Grants, PacketSpec[] Packets, int Revoked, bool ByExpiry)> Cases2 = (
        from gn in Gen.Choose(1, 4)
        from grants in Gen.ArrayOf(GrantModel.GrantGen.Select(g => g with { Expiry = Expiry.Never }), gn)
        from pn in Gen.Choose(5, 25)
        from packets in Gen.ArrayOf(GrantModel.PacketGen, pn)
        from revoked in Gen.Choose(0, gn - 1)
        from byExpiry in Gen.Elements(true, false)
        select (grants, packets, revoked, byExpiry)).ToArbitrary();

    /// <summary>
    /// Property 1: the gateway forwards exactly the packets its grants allow (never one they do not; a source other
    /// than the client's tunnel address never), before and after the expiry check drops expired grants; a forwarded
    /// packet to a translated proxy IP goes to the translation's real IP, everything else unchanged.
    /// </summary>
    [Fact]
    public void Gateway_forwards_exactly_what_the_grants_allow_and_never_a_spoofed_source()
    {
        Prop.ForAll(Cases1, c =>
        {
            var (grants, packets) = c;
            var t = _h.UtcNow + TimeSpan.FromSeconds(1.5);
            Grant(grants, t);

            var all = grants.Select(_ => true).ToArray();
            SendAndCheck(grants, all, packets, "before the expiry check");

            // The expiry check at wall-clock T (expires_at <= T is expired).
            _h.UtcNow = t - TimeSpan.FromSeconds(1.5);
            _h.Advance(TimeSpan.FromSeconds(1.5));
            var active = grants.Select(g => g.Expiry is Expiry.Never or Expiry.AfterT).ToArray();
            SendAndCheck(grants, active, packets, "after the expiry check");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(Cases).WithQuietOnSuccess(true));
    }

    /// <summary>
    /// Property 2: once a grant is revoked (portal reject_access, or its expiry passes) no packet that only it allowed
    /// passes any more, the other grants keep theirs, and with every grant revoked nothing passes at all.
    /// </summary>
    [Fact]
    public void After_a_grant_expires_or_is_removed_no_packet_it_alone_allowed_passes()
    {
        Prop.ForAll(Cases2, c =>
        {
            var (grants, packets, revoked, byExpiry) = c;
            var t = _h.UtcNow + TimeSpan.FromSeconds(1.5);
            if (byExpiry)
            {
                grants = grants.Select((g, i) => i == revoked ? g with { Expiry = Expiry.AtT } : g).ToArray();
            }

            Grant(grants, t);
            var all = grants.Select(_ => true).ToArray();
            SendAndCheck(grants, all, packets, "with every grant");

            var remaining = grants.Select((_, i) => i != revoked).ToArray();
            if (byExpiry)
            {
                _h.UtcNow = t - TimeSpan.FromSeconds(1.5);
                _h.Advance(TimeSpan.FromSeconds(1.5));
            }
            else
            {
                _h.Gateway.RemoveAccess(GatewayHarness.ClientId, GrantModel.IdOf(revoked));
            }

            foreach (var p in packets)
            {
                bool before = GrantModel.Allows(grants, all, p, out _);
                bool after = GrantModel.Allows(grants, remaining, p, out _);
                var (r, _) = SendOne(p);
                if (before && !after)
                {
                    Assert.True(r.Status != NetworkInputStatus.Packet, $"{p} passed after revoking grant {revoked} ({(byExpiry ? "expiry" : "removal")})\n{Describe(grants)}");
                }
            }

            SendAndCheck(grants, remaining, packets, "after revoking one");
            for (int i = 0; i < grants.Length; i++)
            {
                _h.Gateway.RemoveAccess(GatewayHarness.ClientId, GrantModel.IdOf(i));
            }

            Assert.Equal(0, _h.Gateway.ClientCount);
            foreach (var p in packets)
            {
                var (r, _) = SendOne(p);
                Assert.NotEqual(NetworkInputStatus.Packet, r.Status);
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(Cases).WithQuietOnSuccess(true));
    }

    private void Grant(GrantSpec[] grants, DateTimeOffset t)
    {
        _h.Gateway.CleanupConnection(GatewayHarness.ClientId);
        for (int i = 0; i < grants.Length; i++)
        {
            var error = _h.Allow(GrantModel.Resource(grants[i], i), GrantModel.ExpiresAt(grants[i], t), GrantModel.NatEntry(grants[i]));
            Assert.Equal(DnsNatError.None, error);
        }
    }

    private (NetworkInputResult Result, byte[]? Forwarded) SendOne(PacketSpec p)
    {
        int n = GrantModel.Build(p, _packet);
        return _h.Send(_packet.AsSpan(0, n));
    }

    private void SendAndCheck(GrantSpec[] grants, bool[] active, PacketSpec[] packets, string phase)
    {
        foreach (var p in packets)
        {
            int n = GrantModel.Build(p, _packet);
            var original = _packet.AsSpan(0, n).ToArray();
            bool allowed = GrantModel.Allows(grants, active, p, out var natTo);
            bool spoofed = p.Source != 0;
            // DNS-resource NAT needs a port or echo identifier: other protocols to a translated proxy are dropped.
            bool expected = allowed && !(natTo is not null && p.Transport == PacketSpec.Other);
            var (r, forwarded) = _h.Send(original);
            string context = $"{phase}: {p} -> {r.Status} {r.Error}\n{Describe(grants)} active [{string.Join(",", active)}]";
            Assert.True(expected == (r.Status == NetworkInputStatus.Packet), context);
            if (spoofed)
            {
                Assert.True(r.Status != NetworkInputStatus.Packet && r.Error is GatewayPacketError.SourceNotAllowed or GatewayPacketError.UnknownClient, context);
            }

            if (forwarded is null)
            {
                continue;
            }

            if (natTo is null)
            {
                Assert.Equal(original, forwarded);
                continue;
            }

            Assert.Equal(IpParseError.None, IpPacket.TryParse(forwarded, out var fp));
            Assert.Equal(natTo, fp.Destination);
            Assert.True(fp.ChecksumsValid(), context);
        }
    }

    private static string Describe(GrantSpec[] grants) => string.Join("\n", grants.Select((g, i) => $"  #{i} {g}"));
}
