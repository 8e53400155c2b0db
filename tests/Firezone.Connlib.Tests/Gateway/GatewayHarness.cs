using System.Buffers.Binary;
using System.Net;
using Firezone.Connlib.Gateway;
using Firezone.Connlib.Model;
using Firezone.Snownet;

namespace Firezone.Connlib.Tests.Gateway;

/// <summary>
/// A <see cref="GatewayState"/> with a real Snownet <see cref="ClientNode"/> as its client, connected over a small
/// in-memory link (documentation addresses 198.18.0.0/15; the relay never answers, so the path is direct): every packet
/// a test sends is really encrypted by the client and decrypted by the gateway, and back.
/// </summary>
internal sealed class GatewayHarness : IDisposable
{
    public static readonly ClientId ClientId = new(Guid.Parse("9d4b79f6-1db7-4cb3-a077-712102204d73"));
    public static readonly ConnectionId GatewayConnection = new(Guid.Parse("00000000-0000-0000-0000-0000000000aa"));
    public static readonly IPAddress ClientV4 = IPAddress.Parse("100.64.0.1");
    public static readonly IPAddress ClientV6 = IPAddress.Parse("fd00:2021:1111::1");
    public static readonly IPEndPoint ClientHost = new(IPAddress.Parse("198.18.1.1"), 40001);
    public static readonly IPEndPoint GatewayHost = new(IPAddress.Parse("198.18.2.1"), 40002);
    private static readonly IPEndPoint RelayAddress = new(IPAddress.Parse("198.18.3.1"), 3478);

    private readonly byte[] _wire = new byte[Node.BufferSize];
    private readonly byte[] _plain = new byte[Node.BufferSize];

    private GatewayHarness(int seed)
    {
        var random = new Random(seed);
        var clientSeed = new byte[32];
        var gatewaySeed = new byte[32];
        random.NextBytes(clientSeed);
        random.NextBytes(gatewaySeed);
        Client = new ClientNode(clientSeed, Now, UtcNow);
        Gateway = new GatewayState(gatewaySeed, Now, UtcNow);
    }

    public ClientNode Client { get; }

    public GatewayState Gateway { get; }

    public TimeSpan Now { get; private set; } = TimeSpan.FromSeconds(1);

    public DateTimeOffset UtcNow { get; set; } = new(2024, 11, 29, 12, 0, 0, TimeSpan.Zero);

    /// <summary>True once the client reported its WireGuard session up.</summary>
    public bool ClientEstablished { get; private set; }

    /// <summary>Gateway events seen while pumping (candidates are consumed, everything else kept).</summary>
    public List<GatewayEvent> Events { get; } = new();

    /// <summary>IP packets the client decrypted from the gateway's own transmits (p2p control replies, ICMP answers).</summary>
    public List<byte[]> ReceivedByClient { get; } = new();

    /// <summary>Connects with the deprecated offer/answer flow (<see cref="GatewayState.Accept"/>).</summary>
    public static GatewayHarness Connect(int seed = 1)
    {
        var h = new GatewayHarness(seed);
        var relay = new TurnRelay(new RelayId(Guid.Parse("00000000-0000-0000-0000-0000000000ee")), RelayAddress, null, "unused", "unused");
        h.Client.UpdateRelays([], [relay], h.Now);
        h.Gateway.UpdateRelays([], [relay], h.Now);
        h.Client.AddLocalHostCandidate(ClientHost);
        h.Gateway.AddLocalHostCandidate(GatewayHost);
        var offer = h.Client.NewConnection(GatewayConnection, h.Now, h.Now);
        var answer = h.Gateway.Accept(ClientId, offer, h.Client.PublicKey.Span, h.Now);
        h.Client.AcceptAnswer(GatewayConnection, h.Gateway.PublicKey.Span, answer, h.Now);
        h.WaitUntilUp();
        return h;
    }

    /// <summary>Connects with the portal-credentials flow (<see cref="GatewayState.AuthorizeFlow"/>) and grants <paramref name="resource"/>.</summary>
    public static GatewayHarness ConnectWithAuthorizeFlow(GatewayResource resource, int seed = 1)
    {
        var h = new GatewayHarness(seed);
        var relay = new TurnRelay(new RelayId(Guid.Parse("00000000-0000-0000-0000-0000000000ee")), RelayAddress, null, "unused", "unused");
        h.Client.UpdateRelays([], [relay], h.Now);
        h.Gateway.UpdateRelays([], [relay], h.Now);
        h.Client.AddLocalHostCandidate(ClientHost);
        h.Gateway.AddLocalHostCandidate(GatewayHost);
        var psk = new byte[32];
        new Random(seed).NextBytes(psk);
        var clientIce = new Credentials("cccc", "cccccccccccccccccccccc");
        var gatewayIce = new Credentials("gggg", "gggggggggggggggggggggg");
        h.Gateway.AuthorizeFlow(ClientId, h.Client.PublicKey.Span, psk, clientIce, gatewayIce, ClientV4, ClientV6, null, resource, h.Now);
        h.Client.UpsertConnection(GatewayConnection, h.Gateway.PublicKey.Span, psk, clientIce, gatewayIce, h.Now);
        h.WaitUntilUp();
        return h;
    }

    /// <summary>Grants a resource with the harness client's tunnel addresses.</summary>
    public DnsNatError Allow(GatewayResource resource, DateTimeOffset? expiresAt = null, DnsResourceNatEntry? nat = null) =>
        Gateway.AllowAccess(ClientId, ClientV4, ClientV6, expiresAt, resource, nat, Now);

    /// <summary>
    /// Encrypts <paramref name="packet"/> at the client and hands the datagram to the gateway; returns the result and a
    /// copy of the packet for the TUN device (null unless <see cref="NetworkInputStatus.Packet"/>).
    /// </summary>
    public (NetworkInputResult Result, byte[]? Forwarded) Send(ReadOnlySpan<byte> packet)
    {
        var e = Client.Encapsulate(GatewayConnection, packet, _wire, Now);
        if (e.Status != EncapsulateStatus.Send)
        {
            throw new InvalidOperationException($"the client did not encrypt: {e.Status} {e.Error}");
        }

        var r = Gateway.HandleNetworkInput(_wire.AsSpan(e.Offset, e.Length), ClientHost, GatewayHost, _plain, Now);
        byte[]? forwarded = r.Status == NetworkInputStatus.Packet ? _plain.AsSpan(r.Offset, r.Length).ToArray() : null;
        DeliverGatewayTransmits();
        return (r, forwarded);
    }

    /// <summary>
    /// A packet from the TUN device (a resource's reply): the gateway encrypts it, the client decrypts it. Returns the
    /// gateway's result and what the client got (null unless sent).
    /// </summary>
    public (TunInputResult Result, byte[]? AtClient) Reply(byte[] packet)
    {
        var copy = (byte[])packet.Clone();
        var r = Gateway.HandleTunInput(copy, _wire, Now);
        byte[]? atClient = null;
        if (r.Status == TunInputStatus.Send)
        {
            var d = Client.Decapsulate(_wire.AsSpan(r.Offset, r.Length), GatewayHost, ClientHost, _plain, Now);
            if (d.Status == DecapsulateStatus.Packet)
            {
                atClient = _plain.AsSpan(d.Offset, d.Length).ToArray();
            }
            else if (d.Status == DecapsulateStatus.Consumed)
            {
                // A WireGuard handshake went first (the session was due for a rekey): the packet follows it.
                int before = ReceivedByClient.Count;
                Client.HandleTimeout(Now);
                Pump();
                if (ReceivedByClient.Count == before + 1)
                {
                    atClient = ReceivedByClient[before];
                    ReceivedByClient.RemoveAt(before);
                }
            }

            if (atClient is null)
            {
                throw new InvalidOperationException($"the client did not decrypt: {d.Status} {d.Error}");
            }
        }

        DeliverGatewayTransmits();
        return (r, atClient);
    }

    /// <summary>Advances both clocks by <paramref name="by"/> (monotonic and wall) and runs both sides' timers.</summary>
    public void Advance(TimeSpan by)
    {
        Now += by;
        UtcNow += by;
        Client.HandleTimeout(Now);
        Gateway.HandleTimeout(Now, UtcNow);
        Pump();
    }

    /// <summary>Moves both clocks forward in steps of at most 1 s (so the gateway's 1 s checks all run).</summary>
    public void AdvanceInSteps(TimeSpan total)
    {
        var step = TimeSpan.FromSeconds(1);
        for (var done = TimeSpan.Zero; done < total; done += step)
        {
            Advance(total - done < step ? total - done : step);
        }
    }

    /// <summary>Delivers what is queued on both sides until nothing moves; keeps non-candidate gateway events.</summary>
    public void Pump()
    {
        for (int round = 0; round < 100; round++)
        {
            bool progress = false;
            while (Client.PollTransmit() is { } t)
            {
                progress = true;
                if (t.Destination.Equals(GatewayHost))
                {
                    var r = Gateway.HandleNetworkInput(t.Payload.Span, ClientHost, GatewayHost, _plain, Now);
                    if (r.Status != NetworkInputStatus.Packet)
                    {
                        Gateway.HandleTimeout(Now, UtcNow);
                    }
                }
            }

            progress |= DeliverGatewayTransmits();
            while (Client.PollEvent() is { } e)
            {
                progress = true;
                ClientEstablished |= e is ConnectionEstablished;
                if (e is NewIceCandidate c)
                {
                    Gateway.AddIceCandidate(ClientId, c.Candidate, Now);
                }
            }

            while (Gateway.PollEvent() is { } ge)
            {
                progress = true;
                if (ge is AddedIceCandidates added)
                {
                    foreach (var c in added.Candidates)
                    {
                        Client.AddRemoteCandidate(GatewayConnection, c, Now);
                    }
                }
                else if (ge is not RemovedIceCandidates)
                {
                    Events.Add(ge);
                }
            }

            if (!progress)
            {
                return;
            }
        }
    }

    /// <summary>The gateway's transmits to the client host, decrypted by the client (IP packets kept in <see cref="ReceivedByClient"/>).</summary>
    public bool DeliverGatewayTransmits()
    {
        bool any = false;
        while (Gateway.PollTransmit() is { } t)
        {
            any = true;
            if (!t.Destination.Equals(ClientHost))
            {
                continue; // the relay
            }

            var d = Client.Decapsulate(t.Payload.Span, GatewayHost, ClientHost, _plain, Now);
            if (d.Status == DecapsulateStatus.Packet)
            {
                ReceivedByClient.Add(_plain.AsSpan(d.Offset, d.Length).ToArray());
            }
            else
            {
                Client.HandleTimeout(Now);
            }
        }

        return any;
    }

    /// <summary>Takes the kept gateway events.</summary>
    public List<GatewayEvent> TakeEvents()
    {
        Pump();
        var events = Events.ToList();
        Events.Clear();
        return events;
    }

    private void WaitUntilUp()
    {
        var probe = new byte[28];
        probe[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(probe.AsSpan(2), 28);
        for (int step = 0; step < 20_000; step++)
        {
            Now += TimeSpan.FromMilliseconds(1);
            if (step % 50 == 0)
            {
                var e = Client.Encapsulate(GatewayConnection, probe, _wire, Now);
                if (e.Status == EncapsulateStatus.Send && e.Destination!.Equals(GatewayHost))
                {
                    Gateway.HandleNetworkInput(_wire.AsSpan(e.Offset, e.Length), ClientHost, GatewayHost, _plain, Now);
                }
            }

            Client.HandleTimeout(Now);
            Gateway.HandleTimeout(Now, UtcNow);
            Pump();
            if (ClientEstablished && Gateway.InnerNode.TryGetConnectionId(Client.PublicKey.Span, out _))
            {
                ReceivedByClient.Clear();
                Events.Clear();
                return;
            }
        }

        throw new InvalidOperationException("the in-memory client and gateway did not connect");
    }

    public void Dispose()
    {
        Client.Dispose();
        Gateway.Dispose();
    }
}
