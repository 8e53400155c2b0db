using Firezone.Testing;
using System.Net;
using System.Net.Sockets;

namespace Firezone.Snownet.Tests.Node.Simulation;

/// <summary>
/// A <see cref="Firezone.Snownet.Node"/> with its sockets in the simulation, driven like a real driver: every received
/// datagram goes to <c>Decapsulate</c> (then <c>HandleTimeout</c> when it was consumed), every transmit is sent from
/// the socket of its family (from its source IP when it names one), and the node is woken at <c>PollTimeout</c>.
/// </summary>
public sealed class SimPeer
{
    private readonly SimInternet _net;
    private readonly byte[] _buffer = new byte[Firezone.Snownet.Node.BufferSize];

    public SimPeer(SimInternet net, int actor, Firezone.Snownet.Node node, IPEndPoint? hostV4, IPEndPoint? hostV6)
    {
        _net = net;
        Actor = actor;
        Node = node;
        HostV4 = hostV4;
        HostV6 = hostV6;
    }

    public int Actor { get; }

    public Firezone.Snownet.Node Node { get; private set; }

    public IPEndPoint? HostV4 { get; private set; }

    public IPEndPoint? HostV6 { get; private set; }

    /// <summary>IP packets that came out of the tunnel: connection and bytes.</summary>
    public List<(ConnectionId Connection, byte[] Packet, TimeSpan At)> Received { get; } = new();

    public List<(NodeEvent Event, TimeSpan At)> Events { get; } = new();

    /// <summary>Datagrams sent, by destination (to count keepalives and checks).</summary>
    public List<(IPEndPoint Destination, int Length, TimeSpan At)> Sent { get; } = new();

    public List<(PacketError Error, TimeSpan At)> Errors { get; } = new();

    /// <summary>Called for every event as it is drained (the world forwards candidates through the portal).</summary>
    public Action<SimPeer, NodeEvent, TimeSpan>? OnEvent { get; set; }

    /// <summary>Moves the peer to new sockets (roaming): the old ones are gone from the network.</summary>
    public void Rebind(IPEndPoint? hostV4, IPEndPoint? hostV6, SimNat? nat)
    {
        foreach (var old in new[] { HostV4, HostV6 })
        {
            if (old is not null)
            {
                _net.RemoveHost(old);
            }
        }

        HostV4 = hostV4;
        HostV6 = hostV6;
        if (hostV4 is not null)
        {
            _net.AddHost(Actor, hostV4, nat);
        }

        if (hostV6 is not null)
        {
            _net.AddHost(Actor, hostV6, null);
        }
    }

    public List<(TimeSpan At, int Length, IPEndPoint From, IPEndPoint Local, DecapsulateStatus Status)> Deliveries { get; } = new();

    public void Receive(SimInternet.Delivery delivery, TimeSpan now)
    {
        var result = Node.Decapsulate(delivery.Payload, delivery.From, delivery.Local, _buffer, now);
        Deliveries.Add((now, delivery.Payload.Length, delivery.From, delivery.Local, result.Status));
        switch (result.Status)
        {
            case DecapsulateStatus.Packet:
                Received.Add((result.Connection, _buffer.AsSpan(result.Offset, result.Length).ToArray(), now));
                break;
            case DecapsulateStatus.Error:
                Errors.Add((result.Error, now));
                break;
            default:
                Node.HandleTimeout(now);
                break;
        }

        Drain(now);
    }

    /// <summary>Sends an IP packet through the tunnel; true when a datagram left at once.</summary>
    public bool SendPacket(ConnectionId connection, byte[] packet, TimeSpan now)
    {
        var result = Node.Encapsulate(connection, packet, _buffer, now);
        bool sent = false;
        if (result.Status == EncapsulateStatus.Send)
        {
            SendDatagram(result.Source, result.Destination!, _buffer.AsSpan(result.Offset, result.Length), now);
            sent = true;
        }
        else if (result.Status == EncapsulateStatus.Error)
        {
            Errors.Add((result.Error, now));
        }
        else
        {
            Node.HandleTimeout(now);
        }

        Drain(now);
        return sent;
    }

    public void HandleTimeout(TimeSpan now)
    {
        Node.HandleTimeout(now);
        Drain(now);
    }

    public void Drain(TimeSpan now)
    {
        for (int round = 0; round < 1000; round++)
        {
            bool progress = false;
            while (Node.PollTransmit() is { } transmit)
            {
                SendDatagram(transmit.Source, transmit.Destination, transmit.Payload.Span, now);
                progress = true;
            }

            while (Node.PollEvent() is { } e)
            {
                Events.Add((e, now));
                OnEvent?.Invoke(this, e, now);
                progress = true;
            }

            if (!progress)
            {
                return;
            }
        }

        throw new InvalidOperationException("the node keeps producing output (livelock)");
    }

    private void SendDatagram(IPEndPoint? source, IPEndPoint destination, ReadOnlySpan<byte> payload, TimeSpan now)
    {
        var socket = destination.AddressFamily == AddressFamily.InterNetworkV6 ? HostV6 : HostV4;
        if (socket is null)
        {
            return; // no socket of that family: the datagram cannot leave
        }

        if (source is not null && !source.Address.Equals(socket.Address))
        {
            return; // a source IP we do not have (e.g. an address from before roaming)
        }

        Sent.Add((destination, payload.Length, now));
        _net.Send(Actor, socket, destination, payload, now);
    }
}
