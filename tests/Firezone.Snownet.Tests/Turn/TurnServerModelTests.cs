using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;
using FsCheck.Xunit;
using static Firezone.Snownet.Tests.Turn.RelayTestKit;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>
/// Model-based property: random scripts of Allocate / Refresh / ChannelBind / data / time steps from two clients; a small
/// reference model predicts every response class or error code, every relay decision and the set of open allocation
/// sockets, and the real server must agree after every step.
/// </summary>
public class TurnServerModelTests
{
    private sealed record ModelChannel(int Peer, TimeSpan Expiry, bool Bound);

    private sealed class ModelAllocation
    {
        public int Port { get; init; }

        public TimeSpan Expiry { get; set; }

        public Dictionary<ushort, ModelChannel> Channels { get; } = new();
    }

    private static readonly IPEndPoint[] Clients = [new(IPAddress.Parse("198.51.100.1"), 1000), new(IPAddress.Parse("198.51.100.2"), 2000)];
    private static readonly IPEndPoint[] Peers = [new(IPAddress.Parse("192.0.2.1"), 3000), new(IPAddress.Parse("192.0.2.1"), 3001), new(IPAddress.Parse("192.0.2.2"), 3000)];
    private static readonly ushort[] Numbers = [0x4000, 0x4001, 0x4FFF, 0x7FFF];
    private static readonly Guid Nonce = Guid.Parse("11111111-2222-3333-4444-555555555555");

    [Property(MaxTest = 200, EndSize = 400)]
    public void Server_agrees_with_the_reference_model(byte[] script)
    {
        script ??= [];
        var server = new TurnServer(new TurnServerOptions { PublicIPv4 = IPAddress.Parse("203.0.113.5"), LowestPort = 50000, HighestPort = 50009 });
        string username = ValidUsername("modelsalt1", Start + TimeSpan.FromDays(30));
        byte[] key = Key(server, username);
        var model = new Dictionary<int, ModelAllocation>();
        var openSockets = new HashSet<int>();
        var now = Start;

        for (int step = 0; step + 3 < script.Length && step < 4 * 60; step += 4)
        {
            server.AddNonce(Nonce); // keep the nonce fresh: nonce accounting is tested elsewhere
            int kind = script[step] % 6, c = script[step + 1] % Clients.Length, p = script[step + 2] % Peers.Length;
            ushort number = Numbers[script[step + 3] % Numbers.Length];
            var client = Clients[c];
            model.TryGetValue(c, out var allocation);
            switch (kind)
            {
                case 0: // Allocate with a lifetime of 0..3600 s in 400 s steps (0 dies at the next timeout)
                {
                    uint lifetime = (uint)(script[step + 3] % 10) * 400;
                    var response = Request(server, client, now, StunMethod.Allocate, username, key, (ref StunMessageBuilder b) =>
                    {
                        b.AddRequestedTransport();
                        b.AddLifetime(lifetime);
                    }, openSockets);
                    if (allocation is not null)
                    {
                        Assert.Equal(437, response.Error);
                    }
                    else
                    {
                        Assert.Null(response.Error);
                        Assert.NotNull(response.Relayed);
                        model[c] = new ModelAllocation { Port = response.Relayed!.Port, Expiry = now + TimeSpan.FromSeconds(Math.Min(lifetime, 3600)) };
                    }

                    break;
                }

                case 1: // Refresh, sometimes with 0
                {
                    uint lifetime = script[step + 3] % 4 == 0 ? 0u : 3600u;
                    var response = Request(server, client, now, StunMethod.Refresh, username, key, (ref StunMessageBuilder b) => b.AddLifetime(lifetime), openSockets);
                    if (allocation is null)
                    {
                        Assert.Equal(437, response.Error);
                    }
                    else
                    {
                        Assert.Null(response.Error);
                        if (lifetime == 0)
                        {
                            model.Remove(c);
                        }
                        else
                        {
                            allocation.Expiry = now + TimeSpan.FromSeconds(lifetime);
                        }
                    }

                    break;
                }

                case 2: // ChannelBind
                {
                    var response = Request(server, client, now, StunMethod.ChannelBind, username, key, (ref StunMessageBuilder b) =>
                    {
                        b.AddChannelNumber(number);
                        b.AddXorPeerAddress(Peers[p]);
                    }, openSockets);
                    if (allocation is null)
                    {
                        Assert.Equal(437, response.Error);
                        break;
                    }

                    bool peerTaken = allocation.Channels.Any(kv => kv.Value.Peer == p && kv.Key != number);
                    bool numberTaken = allocation.Channels.TryGetValue(number, out var existing) && existing.Peer != p;
                    if (peerTaken || numberTaken)
                    {
                        Assert.Equal(400, response.Error);
                    }
                    else
                    {
                        Assert.Null(response.Error);
                        allocation.Channels[number] = new ModelChannel(p, now + TimeSpan.FromSeconds(600), true);
                    }

                    break;
                }

                case 3: // ChannelData from the client
                {
                    var relay = server.HandleClientInput(ChannelData.Encode(number, [1, 2, 3]), client, now, Wall(now));
                    bool expected = allocation is not null && allocation.Channels.TryGetValue(number, out var channel) && channel.Bound;
                    Assert.Equal(expected, relay is not null);
                    if (relay is { } r)
                    {
                        Assert.Equal(Peers[allocation!.Channels[number].Peer], r.Peer);
                        Assert.Equal(allocation.Port, r.AllocationPort);
                    }

                    break;
                }

                case 4: // Peer data to the client's allocation port
                {
                    if (allocation is null)
                    {
                        break;
                    }

                    var relay = server.HandlePeerTraffic([9, 9], Peers[p], allocation.Port, now);
                    var bound = allocation.Channels.Where(kv => kv.Value.Peer == p && kv.Value.Bound).Select(kv => kv.Key).ToList();
                    Assert.Equal(bound.Count == 1, relay is not null);
                    if (relay is { } r)
                    {
                        Assert.Equal(client, r.Client);
                        Assert.Equal(bound[0], r.Channel);
                    }

                    break;
                }

                default: // time passes: 0..635 s
                {
                    now += TimeSpan.FromSeconds((script[step + 3] % 128) * 5);
                    while (server.PollTimeout() is { } deadline && deadline <= now)
                    {
                        server.HandleTimeout(now);
                    }

                    foreach (var (id, a) in model.ToList())
                    {
                        if (a.Expiry <= now)
                        {
                            model.Remove(id);
                            continue;
                        }

                        foreach (var (n, ch) in a.Channels.ToList())
                        {
                            var updated = ch.Bound && ch.Expiry <= now ? ch with { Bound = false } : ch;
                            if (!updated.Bound && updated.Expiry + TimeSpan.FromSeconds(300) <= now)
                            {
                                a.Channels.Remove(n);
                            }
                            else
                            {
                                a.Channels[n] = updated;
                            }
                        }
                    }

                    break;
                }
            }

            Apply(server, openSockets);
            Assert.Equal(model.Count, server.AllocationCount);
            Assert.Equal(model.Values.Sum(a => a.Channels.Values.Count(ch => ch.Bound)), server.BoundChannelCount);
            Assert.Equal(model.Values.Select(a => a.Port).ToHashSet(), openSockets);

            // The deadline is the earliest expiry of the model.
            var expiries = model.Values.SelectMany(a => a.Channels.Values.Select(ch => ch.Bound ? ch.Expiry : ch.Expiry + TimeSpan.FromSeconds(300)).Append(a.Expiry));
            Assert.Equal(expiries.Any() ? expiries.Min() : null, server.PollTimeout());
        }
    }

    private sealed record Response(int? Error, IPEndPoint? Relayed);

    private static Response Request(TurnServer server, IPEndPoint client, TimeSpan now, StunMethod method, string username, byte[] key, Attributes attributes, HashSet<int> openSockets)
    {
        var id = TransactionId.NewRandom();
        Assert.Null(server.HandleClientInput(Message(method, StunClass.Request, id, attributes, username, Nonce.ToString(), key), client, now, Wall(now)));
        Response? response = null;
        while (server.TryPollCommand(out var command))
        {
            if (command.Kind != TurnServerCommandKind.SendMessage)
            {
                ApplyOne(command, openSockets);
                continue;
            }

            Assert.Null(response);
            Assert.Equal(client, command.Destination);
            Assert.True(StunMessage.TryParse(command.Payload, out var message, out _));
            Assert.Equal(id, message.TransactionId);
            Assert.Equal(method, message.Method);
            Assert.True(message.VerifyMessageIntegrity(key));
            message.TryGetXorRelayedAddress(out var relayed);
            response = new Response(message.Class == StunClass.ErrorResponse ? message.ErrorCode : null, relayed);
        }

        Assert.NotNull(response);
        return response;
    }

    private static void Apply(TurnServer server, HashSet<int> openSockets)
    {
        while (server.TryPollCommand(out var command))
        {
            Assert.NotEqual(TurnServerCommandKind.SendMessage, command.Kind);
            ApplyOne(command, openSockets);
        }
    }

    private static void ApplyOne(TurnServerCommand command, HashSet<int> openSockets)
    {
        Assert.Equal(AddressFamily.InterNetwork, command.Family);
        if (command.Kind == TurnServerCommandKind.CreateAllocation)
        {
            Assert.True(openSockets.Add(command.Port), $"socket {command.Port} opened twice");
        }
        else
        {
            Assert.True(openSockets.Remove(command.Port), $"socket {command.Port} freed but not open");
        }
    }
}
