using Firezone.Connlib.Messages;
using Firezone.Connlib.Model;
using Firezone.DevPortal.Broker;
using Firezone.Snownet;
using FsCheck;
using FsCheck.Fluent;
using static Firezone.DevPortal.Tests.Broker.BrokerHarness;
using static Firezone.DevPortal.Tests.Broker.TestConfigs;

namespace Firezone.DevPortal.Tests.Broker;

/// <summary>
/// Random interleavings of joins, leaves, requests, answers and time against a reference model of what must hold:
/// every request a client sends is answered exactly once while it stays (success, error or timeout), every frame goes
/// to a joined session, and gateways only ever hear about clients through messages the clients sent.
/// </summary>
public sealed class BrokerProperties
{
    private static readonly Credentials Ice = new("abcd", "0123456789abcdefghijkl");
    private static readonly string[] ClientTokens = ["alice", "bob"];
    private static readonly string[] GatewayTokens = ["hq-gw", "hq-gw2", "lab-gw"];
    private static readonly ResourceId[] ResourceIds = [Lan.Id, Web.Id, Internet.Id, new ResourceId(Guid.Parse("00000000-0000-4000-8000-000000000001"))];
    private static readonly GatewayId[] GatewayIds = [HqGateway.Id, HqGateway2.Id, LabGateway.Id];

    [FsCheck.Xunit.Property(MaxTest = 200)]
    public Property Every_client_request_is_answered_exactly_once_and_frames_go_only_to_joined_sessions(int[] script)
    {
        var h = new BrokerHarness(TestConfig(answerTimeout: TimeSpan.FromSeconds(5)));
        var clients = new Dictionary<string, long>();   // token → session
        var gateways = new Dictionary<string, long>();
        var expected = new Dictionary<(long Session, ulong Ref), int>(); // requests that must get one reply
        var replies = new Dictionary<(long Session, ulong Ref), int>();
        var pendingAtGateway = new List<(long Gateway, string Ref)>();
        var joined = new HashSet<long>();
        ulong nextRef = 100;
        bool ok = true;

        void Collect()
        {
            foreach (var t in h.Drain())
            {
                ok &= joined.Contains(t.Session);
                if (t.Event == "phx_reply" && t.Ref is { } r && clients.ContainsValue(t.Session))
                {
                    replies[(t.Session, r)] = replies.GetValueOrDefault((t.Session, r)) + 1;
                }

                if (t.Event == "request_connection")
                {
                    var request = (GatewayRequestConnection)PortalMessages.DecodeGatewayPush(t.Event, Element(t.Payload)).Message!;
                    pendingAtGateway.Add((t.Session, request.Ref));
                }
            }
        }

        foreach (int step in script ?? [])
        {
            int op = Math.Abs(step % 8);
            int a = Math.Abs((step / 8) % 4);
            int b = Math.Abs((step / 32) % 3);
            switch (op)
            {
                case 0 when !clients.ContainsKey(ClientTokens[a % 2]):
                    clients[ClientTokens[a % 2]] = h.JoinClient(ClientTokens[a % 2]);
                    joined.Add(clients[ClientTokens[a % 2]]);
                    break;
                case 1 when !gateways.ContainsKey(GatewayTokens[b]):
                    gateways[GatewayTokens[b]] = h.JoinGateway(GatewayTokens[b]);
                    joined.Add(gateways[GatewayTokens[b]]);
                    break;
                case 2 when gateways.Remove(GatewayTokens[b], out long g):
                    h.Broker.Leave(g, Wall);
                    joined.Remove(g);
                    break;
                case 3 when clients.Remove(ClientTokens[a % 2], out long c):
                    h.Broker.Leave(c, Wall);
                    joined.Remove(c);
                    foreach (var key in expected.Keys.Where(k => k.Session == c).ToList()) expected.Remove(key);
                    break;
                case 4 when clients.Count > 0:
                {
                    long c = clients.Values.ElementAt(a % clients.Count);
                    ulong r = nextRef++;
                    h.Send(c, new PrepareConnection(ResourceIds[a], []), r);
                    expected[(c, r)] = 1;
                    break;
                }

                case 5 when clients.Count > 0:
                {
                    long c = clients.Values.ElementAt(a % clients.Count);
                    ulong r = nextRef++;
                    h.Send(c, new RequestConnection(GatewayIds[b], ResourceIds[a], NewKey(), Ice, null), r);
                    expected[(c, r)] = 1;
                    break;
                }

                case 6 when pendingAtGateway.Count > 0:
                {
                    var (g, r) = pendingAtGateway[a % pendingAtGateway.Count];
                    pendingAtGateway.Remove((g, r));
                    if (joined.Contains(g)) h.Send(g, new ConnectionReady(r, new ConnectionAccepted(Ice)), nextRef++);
                    break;
                }

                case 7:
                    h.Now += TimeSpan.FromSeconds(a + 1);
                    h.Broker.HandleTimeout(h.Now);
                    break;
            }

            Collect();
        }

        // Time passes: whatever is still waiting for a gateway times out.
        h.Now += TimeSpan.FromSeconds(6);
        h.Broker.HandleTimeout(h.Now);
        Collect();
        bool answeredOnce = expected.Keys.All(k => replies.GetValueOrDefault(k) == 1);
        bool noExtra = replies.Where(kv => joined.Contains(kv.Key.Session)).All(kv => kv.Value == 1);
        return (ok && answeredOnce && noExtra && h.Broker.PollTimeout() is null)
            .Label($"frames to joined only: {ok}; answered once: {answeredOnce}; no duplicates: {noExtra}");
    }
}
