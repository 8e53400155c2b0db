using System.Net;
using System.Net.Sockets;

namespace Firezone.Snownet.Turn;

/// <summary>What a <see cref="TurnServerCommand"/> asks the host to do.</summary>
public enum TurnServerCommandKind
{
    /// <summary>Send <see cref="TurnServerCommand.Payload"/> to <see cref="TurnServerCommand.Destination"/> from the listening socket of its family.</summary>
    SendMessage,

    /// <summary>
    /// Open a UDP socket on wildcard:<see cref="TurnServerCommand.Port"/> for <see cref="TurnServerCommand.Family"/>,
    /// synchronously, before polling the next command; on failure call
    /// <see cref="TurnServer.HandleAllocationFailed(int, AddressFamily, bool, TimeSpan)"/> before polling the next command.
    /// </summary>
    CreateAllocation,

    /// <summary>Close the socket on <see cref="TurnServerCommand.Port"/> for <see cref="TurnServerCommand.Family"/>.</summary>
    FreeAllocation,
}

/// <summary>A control-plane output of the <see cref="TurnServer"/>, polled in order (the order is part of the contract).</summary>
public readonly record struct TurnServerCommand
{
    /// <summary>The kind of command.</summary>
    public TurnServerCommandKind Kind { get; init; }

    /// <summary>The datagram to send (SendMessage).</summary>
    public byte[]? Payload { get; init; }

    /// <summary>The client to send to (SendMessage).</summary>
    public IPEndPoint? Destination { get; init; }

    /// <summary>The allocation port (CreateAllocation, FreeAllocation).</summary>
    public int Port { get; init; }

    /// <summary>The socket family (CreateAllocation, FreeAllocation).</summary>
    public AddressFamily Family { get; init; }

    /// <summary>
    /// For a SendMessage that is a response: upstream's <c>message_type</c> metric label of the request's method
    /// (<c>binding</c>, <c>allocate</c>, <c>refresh</c>, <c>channelbind</c>, <c>createpermission</c>); null for responses to
    /// other methods (which upstream does not count), for Data indications and for other kinds.
    /// </summary>
    public string? MessageType { get; init; }

    /// <summary>For a SendMessage that is a response: its ERROR-CODE (e.g. 401, 508), 0 for a success (and for non-responses).</summary>
    public int ErrorCode { get; init; }

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        TurnServerCommandKind.SendMessage => $"SendMessage({Payload?.Length} bytes to {Destination}{(MessageType is null ? string.Empty : $", {MessageType} {ErrorCode}")})",
        _ => $"{Kind}({Port}, {Family})",
    };
}

/// <summary>Fast-path result of client input: send <see cref="PayloadLength"/> bytes at <see cref="PayloadOffset"/> of the received datagram to <see cref="Peer"/> from allocation port <see cref="AllocationPort"/>.</summary>
/// <param name="AllocationPort">The allocation port to send from (socket of the peer's family).</param>
/// <param name="Peer">The peer (shared instance: do not modify).</param>
/// <param name="PeerSocketAddress">The peer as a socket address (shared instance: do not modify).</param>
/// <param name="PayloadOffset">Offset of the payload in the received datagram.</param>
/// <param name="PayloadLength">Length of the payload.</param>
public readonly record struct RelayToPeer(int AllocationPort, IPEndPoint Peer, SocketAddress PeerSocketAddress, int PayloadOffset, int PayloadLength);

/// <summary>Fast-path result of peer traffic: prepend the ChannelData header for <see cref="Channel"/> and send to <see cref="Client"/> from the listening socket.</summary>
/// <param name="Client">The client (shared instance: do not modify).</param>
/// <param name="ClientSocketAddress">The client as a socket address (shared instance: do not modify).</param>
/// <param name="Channel">The channel number to frame the datagram with.</param>
public readonly record struct RelayToClient(IPEndPoint Client, SocketAddress ClientSocketAddress, ushort Channel);
