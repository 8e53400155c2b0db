using System.Net;
using System.Net.Sockets;
using Firezone.Snownet;

namespace Firezone.Testing;

/// <summary>
/// A Snownet <see cref="Node"/> with its sockets on a <see cref="SimInternet"/>, driven as a real driver does (Snownet
/// README, "the loop"): every received datagram goes to <c>Decapsulate</c> (then <c>HandleTimeout</c> when it was
/// consumed), every transmit leaves from the socket of its destination's family (dropped when it names a source IP the
/// host does not have, or when the host has no socket of that family), outputs are drained after every call. Records
/// the packets that come out of the tunnel, the events and the packet errors. Made by <see cref="SimWorld"/>.
/// </summary>
public sealed class SimNodeHost
{
    private readonly SimInternet _net;
    private readonly byte[] _buffer = new byte[Node.BufferSize];
    private readonly List<(ConnectionId, byte[], TimeSpan)> _received = new();
    private readonly List<(NodeEvent, TimeSpan)> _events = new();
    private readonly List<(PacketError, TimeSpan)> _errors = new();

    internal SimNodeHost(SimInternet net, int actor, string name, Node node, IPEndPoint? v4, IPEndPoint? v6)
    {
        _net = net;
        Actor = actor;
        Name = name;
        Node = node;
        V4 = v4;
        V6 = v6;
    }

    /// <summary>The host's actor number on the simulated internet.</summary>
    public int Actor { get; }

    /// <summary>The host's name in the log.</summary>
    public string Name { get; }

    /// <summary>The node (a <see cref="ClientNode"/> or a <see cref="ServerNode"/>).</summary>
    public Node Node { get; }

    /// <summary>The IPv4 socket (on the LAN when behind a NAT), or null.</summary>
    public IPEndPoint? V4 { get; }

    /// <summary>The IPv6 socket, or null.</summary>
    public IPEndPoint? V6 { get; }

    /// <summary>IP packets that came out of the tunnel: the connection, the packet's bytes, when.</summary>
    public IReadOnlyList<(ConnectionId Connection, byte[] Packet, TimeSpan At)> Received => _received;

    /// <summary>Every event the node emitted, with its time.</summary>
    public IReadOnlyList<(NodeEvent Event, TimeSpan At)> Events => _events;

    /// <summary>Packet errors returned by <c>Encapsulate</c>/<c>Decapsulate</c> (values, as the contract says).</summary>
    public IReadOnlyList<(PacketError Error, TimeSpan At)> Errors => _errors;

    /// <summary>Called for every event as it is drained (<see cref="SimWorld.Connect"/> forwards candidates with it).</summary>
    public Action<NodeEvent, TimeSpan>? OnEvent { get; set; }

    /// <summary>True once the node reported <see cref="ConnectionEstablished"/> for <paramref name="connection"/>.</summary>
    public bool IsEstablished(ConnectionId connection) =>
        _events.Exists(e => e.Item1 is ConnectionEstablished c && c.Connection == connection);

    /// <summary>True once the node reported <see cref="ConnectionFailed"/> for <paramref name="connection"/>.</summary>
    public bool HasFailed(ConnectionId connection) =>
        _events.Exists(e => e.Item1 is ConnectionFailed c && c.Connection == connection);

    /// <summary>Sends an IP packet through the tunnel on <paramref name="connection"/>; true when a datagram left at once.</summary>
    public bool Send(ConnectionId connection, ReadOnlySpan<byte> packet, TimeSpan now)
    {
        var result = Node.Encapsulate(connection, packet, _buffer, now);
        bool sent = false;
        switch (result.Status)
        {
            case EncapsulateStatus.Send:
                SendDatagram(result.Source, result.Destination!, _buffer.AsSpan(result.Offset, result.Length), now);
                sent = true;
                break;
            case EncapsulateStatus.Error:
                _errors.Add((result.Error, now));
                break;
            default:
                Node.HandleTimeout(now);
                break;
        }

        Drain(now);
        return sent;
    }

    /// <summary>Runs the node's timers and drains its outputs.</summary>
    public void HandleTimeout(TimeSpan now)
    {
        Node.HandleTimeout(now);
        Drain(now);
    }

    /// <summary>Handles a datagram the simulated internet delivered to this host.</summary>
    public void Receive(SimInternet.Delivery delivery, TimeSpan now)
    {
        var result = Node.Decapsulate(delivery.Payload, delivery.From, delivery.Local, _buffer, now);
        switch (result.Status)
        {
            case DecapsulateStatus.Packet:
                _received.Add((result.Connection, _buffer.AsSpan(result.Offset, result.Length).ToArray(), now));
                break;
            case DecapsulateStatus.Error:
                _errors.Add((result.Error, now));
                break;
            default:
                Node.HandleTimeout(now);
                break;
        }

        Drain(now);
    }

    /// <summary>Sends every pending transmit and dispatches every pending event.</summary>
    /// <exception cref="InvalidOperationException">The node keeps producing output after 1000 rounds (a livelock: a bug).</exception>
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
                _events.Add((e, now));
                OnEvent?.Invoke(e, now);
                progress = true;
            }

            if (!progress)
            {
                return;
            }
        }

        throw new InvalidOperationException($"{Name}: the node keeps producing output (livelock)");
    }

    private void SendDatagram(IPEndPoint? source, IPEndPoint destination, ReadOnlySpan<byte> payload, TimeSpan now)
    {
        var socket = destination.AddressFamily == AddressFamily.InterNetworkV6 ? V6 : V4;
        if (socket is null || (source is not null && !source.Address.Equals(socket.Address)))
        {
            return;
        }

        _net.Send(Actor, socket, destination, payload, now);
    }
}
