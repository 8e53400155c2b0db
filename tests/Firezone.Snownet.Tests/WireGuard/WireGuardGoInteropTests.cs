using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.WireGuard;

namespace Firezone.Snownet.Tests.WireGuard;

/// <summary>
/// Interop with wireguard-go on a TUN device inside a network namespace the test creates. Skipped with a reason
/// when not root or when wireguard-go / wg / ip / ping are missing; CI runs them as root.
/// </summary>
[Collection("wireguard-go interop")]
public class WireGuardGoInteropTests
{
    private static (WireGuardGoNamespace Ns, UdpTunnelDriver Ours) Setup(bool wireGuardGoKnowsOurEndpoint, int handshakeLimit = RateLimiter.DefaultLimit)
    {
        var missing = WireGuardGoNamespace.MissingPrerequisite();
        Assert.SkipWhen(missing is not null, $"wireguard-go interop skipped: {missing}");
        var ns = new WireGuardGoNamespace();
        try
        {
            var ourPrivate = new byte[32];
            var ourPublic = new byte[32];
            X25519.GenerateKeyPair(ourPrivate, ourPublic);
            var ours = new UdpTunnelDriver(ns.HostAddress, ourPrivate, ns.PublicKey, new IndexGenerator().Next(), handshakeLimit);
            ns.SetPeer(ourPublic, wireGuardGoKnowsOurEndpoint ? ours.LocalEndpoint : null);
            if (!wireGuardGoKnowsOurEndpoint) ours.Remote = ns.WireGuardEndpoint;
            return (ns, ours);
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    private static string Diagnostics(WireGuardGoNamespace ns, UdpTunnelDriver ours)
    {
        string log;
        lock (ns.Log) log = string.Join('\n', ns.Log.TakeLast(40));
        return $"wg show:\n{ns.Show()}\nour errors: {string.Join(',', ours.Errors)}\nloop failure: {ours.LoopFailure}\nwireguard-go log:\n{log}";
    }

    private static void WaitUntil(Func<bool> condition, TimeSpan timeout, Func<string> explain)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout) Assert.Fail($"timed out after {timeout}: {explain()}");
            Thread.Sleep(20);
        }
    }

    [Fact]
    public void WireGuardGo_initiates_our_side_answers_pings_and_drops_replays_and_bad_macs()
    {
        var (ns, ours) = Setup(wireGuardGoKnowsOurEndpoint: true);
        try
        {
            var (code, output) = ns.PingFromNamespace(5);
            Assert.True(code == 0, $"ping from the wireguard-go side failed: {output}\n{Diagnostics(ns, ours)}");
            Assert.Contains("5 received", output);
            Assert.True(ours.EchoRequestsAnswered >= 5, Diagnostics(ns, ours));
            Assert.True(ours.Invoke(t => t.Stats.HandshakesCompleted) >= 1);
            Assert.Null(ours.LoopFailure);

            // Our side forces a rekey although wireguard-go was the initiator; pings keep working.
            var before = ours.Invoke(t => t.CurrentLocalIndex);
            Assert.Equal(TunnelResultKind.WriteToNetwork, ours.ForceHandshake().Kind);
            WaitUntil(() => ours.Invoke(t => t.CurrentLocalIndex) != before, TimeSpan.FromSeconds(10), () => Diagnostics(ns, ours));
            (code, output) = ns.PingFromNamespace(3);
            Assert.True(code == 0, $"ping after our rekey failed: {output}\n{Diagnostics(ns, ours)}");

            // Attacks on the wire, from another socket: a replayed transport datagram, a tampered one, an
            // initiation with a broken mac1. All dropped and counted; nothing reaches the TUN side.
            var transport = ours.ReceivedTransport.First(d => d.Length > 32);
            // A datagram with a counter never seen (so the replay window lets it through) but a tag that cannot match.
            var tampered = (byte[])transport.Clone();
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(tampered.AsSpan(MessageFormat.DataCounter), 1_000_000);
            var badMac = (byte[])ours.ReceivedInitiations.First().Clone();
            badMac[MessageFormat.InitMac1 + 3] ^= 0x01;
            var answeredBefore = ours.EchoRequestsAnswered;
            var (replayed0, failed0, mac0) = ours.Invoke(t => (t.Stats.DroppedReplayed, t.Stats.DroppedDecryptionFailed, t.Stats.DroppedInvalidMac));
            using (var attacker = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            {
                attacker.Bind(new IPEndPoint(ns.HostAddress, 0));
                attacker.SendTo(transport, ours.LocalEndpoint);
                attacker.SendTo(tampered, ours.LocalEndpoint);
                attacker.SendTo(badMac, ours.LocalEndpoint);
            }
            WaitUntil(() => ours.Invoke(t => t.Stats.DroppedInvalidMac) > mac0, TimeSpan.FromSeconds(5), () => Diagnostics(ns, ours));
            var (replayed, failed, mac) = ours.Invoke(t => (t.Stats.DroppedReplayed, t.Stats.DroppedDecryptionFailed, t.Stats.DroppedInvalidMac));
            // The replayed datagram may belong to the previous keypair (still kept) or the current one: either way
            // it is refused by the replay window.
            Assert.Equal(replayed0 + 1, replayed);
            Assert.Equal(failed0 + 1, failed);
            Assert.Equal(mac0 + 1, mac);
            Assert.Equal(answeredBefore, ours.EchoRequestsAnswered);
        }
        finally
        {
            ours.Dispose();
            ns.Dispose();
        }
    }

    [Fact]
    public void Our_side_initiates_gets_echo_replies_and_data_flows_across_a_clock_driven_rekey()
    {
        var (ns, ours) = Setup(wireGuardGoKnowsOurEndpoint: false);
        try
        {
            ushort seq = 0;
            byte[] Ping() => Icmp4.EchoRequest(WireGuardGoNamespace.OurTunnelAddress, WireGuardGoNamespace.TunnelAddress, 0x4242, ++seq, new byte[64]);

            var first = ours.Send(Ping());
            Assert.Equal(TunnelResultKind.WriteToNetwork, first.Kind);
            Assert.Equal(MessageFormat.InitiationLength, first.Length);
            WaitUntil(() => ours.EchoRepliesReceived >= 1, TimeSpan.FromSeconds(10), () => Diagnostics(ns, ours));
            var firstIndex = ours.Invoke(t => t.CurrentLocalIndex);
            // One initiation, or more when a loaded machine delays the answer past REKEY_TIMEOUT (5 s) and ours retransmits.
            var initiationsBefore = ours.Invoke(t => t.Stats.InitiationsSent);
            Assert.True(initiationsBefore >= 1);
            for (var i = 0; i < 5; i++) ours.Send(Ping());
            WaitUntil(() => ours.EchoRepliesReceived >= 6, TimeSpan.FromSeconds(10), () => Diagnostics(ns, ours));

            // Jump our clock past REKEY_AFTER_TIME: our timers start a new handshake on their own while we keep
            // sending, and replies keep coming back.
            ours.AdvanceClock(TimeSpan.FromSeconds(121));
            var sw = Stopwatch.StartNew();
            var target = ours.EchoRepliesReceived;
            while (ours.Invoke(t => t.CurrentLocalIndex) == firstIndex && sw.Elapsed < TimeSpan.FromSeconds(10))
            {
                ours.Send(Ping());
                target++;
                Thread.Sleep(50);
            }
            Assert.NotEqual(firstIndex, ours.Invoke(t => t.CurrentLocalIndex));
            Assert.True(ours.Invoke(t => t.Stats.InitiationsSent) > initiationsBefore, "the rekey was started by our own timers");
            for (var i = 0; i < 10; i++)
            {
                ours.Send(Ping());
                target++;
                Thread.Sleep(20);
            }
            // Every ping sent before, during and after the rekey is answered.
            WaitUntil(() => ours.EchoRepliesReceived >= target, TimeSpan.FromSeconds(10), () => $"{ours.EchoRepliesReceived}/{target} replies\n" + Diagnostics(ns, ours));
            Assert.Contains("latest handshake", ns.Show());
            Assert.Null(ours.LoopFailure);
        }
        finally
        {
            ours.Dispose();
            ns.Dispose();
        }
    }

    [Fact]
    public void Under_load_wireguard_go_accepts_our_cookie_reply_and_its_mac2_verifies()
    {
        // Limit 0: every handshake message needs a valid cookie in mac2. wireguard-go's first initiation gets a
        // cookie reply (XChaCha20-Poly1305); its REKEY_TIMEOUT retransmission carries mac2 and is answered.
        var (ns, ours) = Setup(wireGuardGoKnowsOurEndpoint: true, handshakeLimit: 0);
        try
        {
            var (code, output) = ExternalProcess.Run(ExternalProcess.FindOnPath("ip")!,
                ["netns", "exec", ns.Namespace, "ping", "-c", "1", "-W", "15", WireGuardGoNamespace.OurTunnelAddress.ToString()], TimeSpan.FromSeconds(30));
            Assert.True(code == 0, $"ping under load failed: {output}\n{Diagnostics(ns, ours)}");
            var stats = ours.Invoke(t => (t.Stats.CookieRepliesSent, t.Stats.HandshakesCompleted, t.Stats.DroppedInvalidMac));
            Assert.True(stats.CookieRepliesSent >= 1, $"no cookie reply was sent: {stats}");
            Assert.True(stats.HandshakesCompleted >= 1);
            Assert.Equal(0, stats.DroppedInvalidMac);
            Assert.True(ours.EchoRequestsAnswered >= 1);
        }
        finally
        {
            ours.Dispose();
            ns.Dispose();
        }
    }
}
