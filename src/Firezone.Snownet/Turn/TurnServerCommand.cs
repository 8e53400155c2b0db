using System.Net;
using System.Net.Sockets;

namespace Firezone.Snownet.Turn;

/// <summary>What a <see cref="TurnServerCommand"/> asks the host to do.</summary>
public enum TurnServerCommandKind
{
    /// <summary>Send <see cref="TurnServerCommand.Payload"/> to <see cref="TurnServerCommand.Destination"/> from the listening socket of its family.</summary>
    SendMessage,

    /// <summary>Open a UDP socket on wildcard:<see cref="TurnServerCommand.Port"/> for <see cref="TurnServerCommand.Family"/>; report failure with <see cref="TurnServer.HandleAllocationFailed"/>.</summary>
    CreateAllocation,

    /// <summary>Close the socket on <see cref="TurnServerCommand.Port"/> for <see cref="TurnServerCommand.Family"/>.</summary>
    FreeAllocation,
}

/// <summary>A control-plane output of the <see cref="TurnServer"/>, polled in FIFO order (the order is part of the contract).</summary>
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

    internal int PendingAllocationPort { get; init; }

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        TurnServerCommandKind.SendMessage => $"SendMessage({Payload?.Length} bytes to {Destination})",
        _ => $"{Kind}({Port}, {Family})",
    };
}

/// <summary>Fast-path result of client input: send <see cref="PayloadLength"/> bytes at <see cref="PayloadOffset"/> of the received datagram to <see cref="Peer"/> from allocation port <see cref="AllocationPort"/>.</summary>
public readonly record struct RelayToPeer(int AllocationPort, IPEndPoint Peer, SocketAddress PeerSocketAddress, int PayloadOffset, int PayloadLength);

/// <summary>Fast-path result of peer traffic: prepend the ChannelData header for <see cref="Channel"/> and send to <see cref="Client"/> from the listening socket.</summary>
public readonly record struct RelayToClient(IPEndPoint Client, SocketAddress ClientSocketAddress, ushort Channel);
