using System.Net;
using Firezone.Connlib.Client;
using Firezone.Connlib.Model;
using Firezone.Snownet;
using static Firezone.Connlib.Tests.Client.ClientTestKit;

namespace Firezone.Connlib.Tests.Client;

/// <summary>
/// A <see cref="ClientState"/> and a bare Snownet <see cref="ServerNode"/> as its gateway, on an in-memory link with
/// no loss (direct host candidates; the relay never answers). The portal is played inline: intents get routing
/// details for <see cref="Gateway"/>, connection requests are accepted by the node, candidates cross over.
/// Enough to drive the client's packet paths against a real WireGuard/ICE peer; the full gateway comes with
/// GatewayState.
/// </summary>
internal sealed class ClientWithNodeGateway : IDisposable
{
    public static readonly IPEndPoint ClientHost = new(IPAddress.Parse("198.18.1.1"), 40001);
    public static readonly IPEndPoint GatewayHost = new(IPAddress.Parse("198.18.2.1"), 40002);
    public static readonly ClientId ClientIdentity = new(Guid.Parse("00000000-0000-0000-0000-0000000000cc"));

    private readonly byte[] _buffer = new byte[Firezone.Snownet.Node.BufferSize];

    public ClientWithNodeGateway(GatewayId gateway, SiteId site)
    {
        Gateway = gateway;
        Site = site;
        Client = NewClient(Now);
        Client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, []));
        var seed = new byte[32];
        seed[0] = 9;
        Node = new ServerNode(seed, Now, Wall + Now);
        Node.UpdateRelays([], [new TurnRelay(new RelayId(Guid.Parse("00000000-0000-0000-0000-0000000000f1")),
            new IPEndPoint(IPAddress.Parse("198.18.50.1"), 3478), null, "1:x", "y")], Now);
        // Host candidates are learnt from the local address of received datagrams: one junk datagram each.
        Client.HandleNetworkInput([0xFF], GatewayHost, ClientHost, _buffer, Now);
        Node.Decapsulate([0xFF], ClientHost, GatewayHost, _buffer, Now);
    }

    public ClientState Client { get; }

    public ServerNode Node { get; }

    public GatewayId Gateway { get; }

    public SiteId Site { get; }

    public TimeSpan Now { get; private set; } = TimeSpan.FromSeconds(1);

    public List<ClientEvent> ClientEvents { get; } = new();

    public List<byte[]> AtGateway { get; } = new();

    public List<byte[]> AtClient { get; } = new();

    public List<ClientPacketResult> ClientDrops { get; } = new();

    /// <summary>Sends a packet from the client's TUN side and runs the world until quiet.</summary>
    public EncapsulateResult SendFromClient(byte[] packet)
    {
        var result = Client.HandleTunInput(packet.ToArray(), _buffer, Now);
        if (result.Status == EncapsulateStatus.Send)
        {
            DeliverToGateway(_buffer.AsSpan(result.Offset, result.Length).ToArray());
        }
        else
        {
            Client.HandleTimeout(Now);
        }

        Pump();
        return result;
    }

    /// <summary>Sends a packet from the gateway's side (as if a resource answered) to the client.</summary>
    public void SendFromGateway(byte[] packet)
    {
        var result = Node.Encapsulate(new ConnectionId(ClientIdentity.Value), packet, _buffer, Now);
        if (result.Status == EncapsulateStatus.Send)
        {
            DeliverToClient(_buffer.AsSpan(result.Offset, result.Length).ToArray());
        }

        Pump();
    }

    /// <summary>Advances time in 10 ms steps, moving datagrams and playing the portal, for <paramref name="duration"/>.</summary>
    public void Run(TimeSpan duration)
    {
        var end = Now + duration;
        while (Now < end)
        {
            Now += TimeSpan.FromMilliseconds(10);
            Client.HandleTimeout(Now);
            Node.HandleTimeout(Now);
            Pump();
        }
    }

    private void Pump()
    {
        for (int round = 0; round < 100; round++)
        {
            bool progress = false;
            while (Client.PollTransmit() is { } t)
            {
                progress = true;
                if (t.Destination.Equals(GatewayHost))
                {
                    DeliverToGateway(t.Payload.ToArray());
                }
            }

            while (Node.PollTransmit() is { } t)
            {
                progress = true;
                if (t.Destination.Equals(ClientHost))
                {
                    DeliverToClient(t.Payload.ToArray());
                }
            }

            while (Client.PollEvent() is { } e)
            {
                progress = true;
                ClientEvents.Add(e);
                Portal(e);
            }

            while (Node.PollEvent() is { } e)
            {
                progress = true;
                switch (e)
                {
                    case NewIceCandidate c:
                        Client.AddIceCandidate(Gateway, c.Candidate, Now);
                        break;
                    case InvalidateIceCandidate c:
                        Client.RemoveIceCandidate(Gateway, c.Candidate, Now);
                        break;
                }
            }

            if (!progress)
            {
                return;
            }
        }
    }

    private void Portal(ClientEvent e)
    {
        var clientConnection = new ConnectionId(ClientIdentity.Value);
        switch (e)
        {
            case ConnectionIntent intent:
                Client.OnRoutingDetails(intent.Resource, Gateway, Site, Now);
                break;
            case RequestConnection request:
                var answer = Node.AcceptConnection(clientConnection, request.Offer, Client.PublicKey.Span, Now);
                Node.HandleTimeout(Now);
                Client.AcceptAnswer(request.Resource, Node.PublicKey.Span, answer, Now);
                break;
            case AddedIceCandidates added:
                foreach (var c in added.Candidates)
                {
                    Node.AddRemoteCandidate(clientConnection, c, Now);
                }

                Node.HandleTimeout(Now);
                break;
            case RemovedIceCandidates removed:
                foreach (var c in removed.Candidates)
                {
                    Node.RemoveRemoteCandidate(clientConnection, c, Now);
                }

                Node.HandleTimeout(Now);
                break;
        }
    }

    private void DeliverToGateway(byte[] datagram)
    {
        var r = Node.Decapsulate(datagram, ClientHost, GatewayHost, _buffer, Now);
        if (r.Status == DecapsulateStatus.Packet)
        {
            AtGateway.Add(_buffer.AsSpan(r.Offset, r.Length).ToArray());
        }
        else
        {
            Node.HandleTimeout(Now);
        }
    }

    private void DeliverToClient(byte[] datagram)
    {
        var r = Client.HandleNetworkInput(datagram, GatewayHost, ClientHost, _buffer, Now);
        if (r.Status == ClientPacketStatus.Packet)
        {
            AtClient.Add(_buffer.AsSpan(r.Offset, r.Length).ToArray());
        }
        else
        {
            ClientDrops.Add(r);
            Client.HandleTimeout(Now);
        }
    }

    public void Dispose()
    {
        Client.Dispose();
        Node.Dispose();
    }
}
