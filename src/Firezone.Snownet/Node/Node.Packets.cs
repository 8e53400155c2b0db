using System.Net;
using Firezone.Snownet.Ice;
using Firezone.Snownet.Stun;
using Firezone.Snownet.WireGuard;
using Microsoft.Extensions.Logging;

namespace Firezone.Snownet;

/// <summary>The packet path (snownet spec §5.1, §5.2, §10).</summary>
public abstract partial class Node
{
    /// <summary>
    /// Encrypts an outgoing IP packet of <paramref name="connection"/> into <paramref name="buffer"/> (at least
    /// <see cref="BufferSize"/> bytes). With <see cref="EncapsulateStatus.Send"/> send the result's slice of the buffer
    /// at once. <see cref="EncapsulateStatus.Nothing"/>: the packet waits for a session or a path (or was dropped);
    /// call <see cref="HandleTimeout"/> and drain <see cref="PollTransmit"/>. Allocation-free.
    /// </summary>
    public EncapsulateResult Encapsulate(ConnectionId connection, ReadOnlySpan<byte> packet, Span<byte> buffer, TimeSpan now)
    {
        if (buffer.Length < BufferSize)
        {
            return EncapsulateResult.Fail(PacketError.BufferTooSmall);
        }

        if (_disposed || !_connections.TryGetValue(connection, out var c) || c.State == ConnectionState.Failed)
        {
            return EncapsulateResult.Fail(PacketError.NotConnected);
        }

        if (now > _lastNow)
        {
            _lastNow = now;
        }

        var result = c.Tunnel.Encapsulate(packet, buffer[EncryptOffset..], now);
        switch (result.Kind)
        {
            case TunnelResultKind.Error:
                return EncapsulateResult.Fail(Map(result.Error));
            case TunnelResultKind.WriteToNetwork:
                break;
            default:
                return EncapsulateResult.Nothing;
        }

        OutgoingActivity(c, now);
        int length = result.Length;
        if (c.State == ConnectionState.Connecting || c.Peer is not { } peer)
        {
            c.Buffered.Add(buffer.Slice(EncryptOffset, length));
            return EncapsulateResult.Nothing;
        }

        if (peer.Relay is not { } relay)
        {
            return new EncapsulateResult(EncapsulateStatus.Send, peer.Source, peer.Destination, EncryptOffset, length, PacketError.None);
        }

        if (_allocations.TryGetValue(relay, out var allocation)
            && allocation.WriteChannelDataHeader(peer.Destination, buffer[..(EncryptOffset + length)], length, now) is { } server)
        {
            return new EncapsulateResult(EncapsulateStatus.Send, null, server, 0, EncryptOffset + length, PacketError.None);
        }

        LogNoChannel(_logger, connection, peer.Destination);
        return EncapsulateResult.Nothing;
    }

    /// <summary>
    /// A datagram that arrived from <paramref name="from"/> on the local address <paramref name="local"/> (the concrete
    /// destination IP of the datagram and the socket's port). TURN traffic from relays, ICE checks and WireGuard control
    /// messages are consumed; a WireGuard data packet yields its IP packet in <paramref name="buffer"/> (at least
    /// <see cref="BufferSize"/> bytes; the packet starts at offset 20). Never throws for bad input: garbage gives an
    /// error result. After <see cref="DecapsulateStatus.Consumed"/>, drain transmits and events and call
    /// <see cref="HandleTimeout"/>.
    /// </summary>
    public DecapsulateResult Decapsulate(ReadOnlySpan<byte> datagram, IPEndPoint from, IPEndPoint local, Span<byte> buffer, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(local);
        if (buffer.Length < BufferSize)
        {
            return DecapsulateResult.Fail(PacketError.BufferTooSmall);
        }

        if (_disposed)
        {
            return DecapsulateResult.Fail(PacketError.NotConnected);
        }

        if (now > _lastNow)
        {
            _lastNow = now;
        }

        if (!ObserveLocal(local))
        {
            return DecapsulateResult.Fail(PacketError.BadLocalAddress);
        }

        // 1. Demultiplex by first byte (RFC 7983): only datagrams from a relay's address are TURN.
        var payload = datagram;
        var source = from;
        var iceLocal = local;
        if (!datagram.IsEmpty)
        {
            byte first = datagram[0];
            if (first <= 3 && RelayAt(from) is { } relay)
            {
                relay.HandleInput(datagram, from, local, now);
                return DecapsulateResult.Consumed; // accepted or not, never passed on
            }

            if (first is >= 0x40 and <= 0x4F && RelayAt(from) is { } channelRelay)
            {
                if (!channelRelay.TryDecapsulate(datagram, from, now, out var peer, out var relayed, out Range range))
                {
                    return DecapsulateResult.Consumed;
                }

                payload = datagram[range];
                source = peer;
                iceLocal = relayed;
            }
        }

        // 2. ICE: offered to the agents (pending, then established, in id order); the first that accepts it keeps it.
        if (IsIceStun(payload))
        {
            for (int i = 0; i < _initial.Count; i++)
            {
                if (_initial.ValueAt(i).Agent.HandleInput(payload, source, iceLocal, now))
                {
                    return DecapsulateResult.Consumed;
                }
            }

            for (int i = 0; i < _connections.Count; i++)
            {
                if (_connections.ValueAt(i).Agent.HandleInput(payload, source, iceLocal, now))
                {
                    return DecapsulateResult.Consumed;
                }
            }

            return DecapsulateResult.Fail(PacketError.UnhandledStunMessage);
        }

        // 3. WireGuard, routed by source address (not by receiver index).
        if (Route(source) is not { } connection)
        {
            return DecapsulateResult.Fail(PacketError.UnhandledPacket);
        }

        return DecapsulateWireGuard(connection, payload, buffer, now);
    }

    private DecapsulateResult DecapsulateWireGuard(Connection c, ReadOnlySpan<byte> payload, Span<byte> buffer, TimeSpan now)
    {
        bool hadSession = c.Tunnel.HasCurrentSession;
        var destination = buffer[DecryptOffset..];
        var result = c.Tunnel.Decapsulate(payload, default, destination, now);
        DecapsulateResult outcome;
        switch (result.Kind)
        {
            case TunnelResultKind.WriteToTunnelV4 or TunnelResultKind.WriteToTunnelV6:
                IncomingActivity(c, now);
                outcome = new DecapsulateResult(DecapsulateStatus.Packet, c.Id, DecryptOffset, result.Length, PacketError.None);
                break;
            case TunnelResultKind.WriteToNetwork:
                SendOverPeer(c, destination[..result.Length], now);
                FlushTunnel(c, now);
                outcome = DecapsulateResult.Consumed;
                break;
            case TunnelResultKind.Error:
                return DecapsulateResult.Fail(Map(result.Error));
            default:
                FlushTunnel(c, now);
                outcome = DecapsulateResult.Consumed;
                break;
        }

        if (!hadSession && c.Tunnel.HasCurrentSession)
        {
            _events.Enqueue(new ConnectionEstablished(c.Id));
            LogEstablished(_logger, c.Id, c.Peer?.ToString() ?? "(not nominated)");
            FlushTunnel(c, now); // packets queued before the session
        }

        return outcome;
    }

    /// <summary>Sends what the tunnel still wants sent (timer output, packets queued before the session).</summary>
    private void FlushTunnel(Connection c, TimeSpan now)
    {
        while (c.Tunnel.PollTransmit(_scratch, now) is { Kind: TunnelResultKind.WriteToNetwork } r)
        {
            SendOverPeer(c, _scratch.AsSpan(0, r.Length), now);
        }
    }

    /// <summary>
    /// A WireGuard datagram of <paramref name="c"/>: over its path, or into the connecting buffer before nomination,
    /// or dropped when it failed (spec §5.1 step 4).
    /// </summary>
    private void SendOverPeer(Connection c, ReadOnlySpan<byte> datagram, TimeSpan now)
    {
        if (c.State == ConnectionState.Failed)
        {
            return;
        }

        if (c.State == ConnectionState.Connecting || c.Peer is not { } peer)
        {
            c.Buffered.Add(datagram);
            return;
        }

        SendTo(peer, datagram, now);
    }

    private void SendTo(PeerSocket peer, ReadOnlySpan<byte> datagram, TimeSpan now)
    {
        if (peer.Relay is not { } relay)
        {
            _transmits.Enqueue(peer.Source, peer.Destination, datagram);
            return;
        }

        if (_allocations.TryGetValue(relay, out var allocation) && allocation.EncodeToPeer(peer.Destination, datagram, now) is { } wrapped)
        {
            _transmits.Enqueue(null, wrapped.Destination, wrapped.Payload.Span);
        }
    }

    /// <summary>The connection WireGuard datagrams from <paramref name="source"/> belong to (lowest id wins).</summary>
    private Connection? Route(IPEndPoint source)
    {
        if (_routesDirty)
        {
            _routes.Clear();
            for (int i = 0; i < _connections.Count; i++)
            {
                var c = _connections.ValueAt(i);
                if (c.Peer is { } peer && c.State is ConnectionState.Connected or ConnectionState.Idle)
                {
                    _routes.TryAdd(peer.Destination, c);
                }

                foreach (var possible in c.PossibleSockets)
                {
                    _routes.TryAdd(possible, c);
                }
            }

            _routesDirty = false;
        }

        return _routes.TryGetValue(source, out var connection) ? connection : null;
    }

    /// <summary>An ICE-style STUN message: STUN header, exact length, MESSAGE-INTEGRITY present.</summary>
    private static bool IsIceStun(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= StunHeader.Size && datagram[0] <= 3
        && StunHeader.TryRead(datagram, out var header) && header.Length + StunHeader.Size == datagram.Length
        && StunMessage.TryParse(datagram, out var message) && message.HasMessageIntegrity;

    private void OutgoingActivity(Connection c, TimeSpan now)
    {
        WakeFromIdle(c);
        c.LastOutgoing = now;
    }

    private void IncomingActivity(Connection c, TimeSpan now)
    {
        WakeFromIdle(c);
        c.LastIncoming = now;
    }

    /// <summary>Idle → Connected on application traffic: default ICE timings, 1 s WireGuard ticks (the next scheduled tick is kept).</summary>
    private static void WakeFromIdle(Connection c)
    {
        if (c.State != ConnectionState.Idle)
        {
            return;
        }

        c.State = ConnectionState.Connected;
        c.Agent.SetTimings(IceTimings.Default);
        c.WireGuardInterval = WireGuardTick;
    }

    private static PacketError Map(WireGuardError error) => error switch
    {
        WireGuardError.DestinationBufferTooSmall => PacketError.BufferTooSmall,
        WireGuardError.InvalidMac => PacketError.InvalidMac,
        WireGuardError.UnderLoad => PacketError.UnderLoad,
        WireGuardError.WrongIndex => PacketError.WrongIndex,
        WireGuardError.ReplayedCounter => PacketError.ReplayedCounter,
        WireGuardError.DecryptionFailed => PacketError.DecryptionFailed,
        WireGuardError.HandshakeFailed => PacketError.HandshakeFailed,
        WireGuardError.SessionExpired => PacketError.SessionExpired,
        WireGuardError.InvalidTunnelPacket => PacketError.InvalidTunnelPacket,
        _ => PacketError.InvalidPacket,
    };

    [LoggerMessage(Level = LogLevel.Trace, Message = "Dropping a packet of {Connection}: no bound channel to {Peer}")]
    private static partial void LogNoChannel(ILogger logger, ConnectionId connection, IPEndPoint peer);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {Connection} established over {Path}")]
    private static partial void LogEstablished(ILogger logger, ConnectionId connection, string path);
}
