using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Turn;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Relay;

/// <summary>The control plane: one task that owns the <see cref="TurnServer"/>.</summary>
public sealed partial class RelaySession
{
    private const int ClientInputsPerRound = 256;
    private const int PeerInputsPerRound = 64;
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The server's monotonic time: elapsed since the session was created, from <see cref="RelaySessionOptions.Time"/>
    /// (a wall-clock jump moves no lifetime). The wall clock (<c>GetUtcNow</c>) is read separately, only for
    /// <see cref="TurnServer.HandleClientInput(ReadOnlySpan{byte}, SocketAddress, TimeSpan, DateTimeOffset)"/>, whose
    /// USERNAME expiry needs it.
    /// </summary>
    private TimeSpan Now => _options.Time.GetElapsedTime(_startTimestamp);

    /// <summary>
    /// Runs due timers, then client STUN, then (with lower priority) peer datagrams without a bound channel, and
    /// executes the server's commands after each; sleeps until the next input or deadline. Only this task touches
    /// the server's state, so nothing here holds a lock while it sends or binds. Each input is handled at the time it
    /// is taken off its queue, after the timers due by then.
    /// </summary>
    private async Task ControlLoopAsync(CancellationToken cancellationToken)
    {
        var clients = _path.ClientControl.Reader;
        var peers = _path.PeerControl.Reader;
        Task<bool>? clientWait = null, peerWait = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (RunDueTimers(Now))
            {
                continue;
            }

            bool progressed = false;
            for (int i = 0; i < ClientInputsPerRound && clients.TryRead(out var input); i++)
            {
                HandleControlInput(input);
                progressed = true;
            }

            for (int i = 0; i < PeerInputsPerRound && peers.TryRead(out var input); i++)
            {
                HandleControlInput(input);
                progressed = true;
            }

            if (progressed)
            {
                continue;
            }

            var wait = MaxWait;
            if (_server.PollTimeout() is { } next)
            {
                var untilNext = next - Now;
                if (untilNext <= TimeSpan.Zero)
                {
                    continue; // became due since the check at the top of the loop
                }

                if (untilNext < wait)
                {
                    wait = untilNext;
                }
            }

            clientWait ??= clients.WaitToReadAsync(cancellationToken).AsTask();
            peerWait ??= peers.WaitToReadAsync(cancellationToken).AsTask();
            try
            {
                await Task.WhenAny(clientWait, peerWait, Task.Delay(wait, _options.Time, cancellationToken)).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (clientWait.IsCompleted)
            {
                if (!clientWait.IsCompletedSuccessfully || !clientWait.Result)
                {
                    return; // closed
                }

                clientWait = null;
            }

            if (peerWait.IsCompleted)
            {
                if (!peerWait.IsCompletedSuccessfully || !peerWait.Result)
                {
                    return;
                }

                peerWait = null;
            }
        }
    }

    /// <summary>Runs the server's timers if one is due at <paramref name="now"/> and executes their commands.</summary>
    private bool RunDueTimers(TimeSpan now)
    {
        if (_server.PollTimeout() is not { } deadline || deadline > now)
        {
            return false;
        }

        _server.HandleTimeout(now);
        DrainCommands();
        return true;
    }

    /// <summary>
    /// One datagram for the control plane, at the current time: due timers first (so that nothing past its deadline
    /// is used), then the datagram; the wall clock is read here, for username expiry only.
    /// </summary>
    private void HandleControlInput(ControlInput input)
    {
        try
        {
            var now = Now;
            RunDueTimers(now);
            var datagram = input.Buffer.AsSpan(0, input.Length);
            if (input.AllocationPort == 0)
            {
                if (_server.HandleClientInput(datagram, input.Source, now, _options.Time.GetUtcNow()) is { } toPeer)
                {
                    SendToPeer(datagram, toPeer);
                }
            }
            else
            {
                _ = _server.HandlePeerTraffic(datagram, input.Source, input.AllocationPort, now); // channels are the data path's
            }

            DrainCommands();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input.Buffer);
        }
    }

    /// <summary>A Send indication's payload (RFC 8656 extension) from the control plane (the server counted its bytes).</summary>
    private void SendToPeer(ReadOnlySpan<byte> datagram, RelayToPeer relay)
    {
        if (_path.AllocationSockets.Get(relay.AllocationPort, relay.Peer.AddressFamily) is not { } socket)
        {
            return;
        }

        try
        {
            socket.Socket.SendTo(datagram.Slice(relay.PayloadOffset, relay.PayloadLength), SocketFlags.None, relay.PeerSocketAddress);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            LogSendFailed(_logger, e.Message);
        }
    }

    /// <summary>Executes the server's queued commands in order (the order is part of its contract).</summary>
    private void DrainCommands()
    {
        while (_server.TryPollCommand(out var command))
        {
            switch (command.Kind)
            {
                case TurnServerCommandKind.SendMessage:
                    SendResponse(command);
                    break;
                case TurnServerCommandKind.CreateAllocation:
                    CreateAllocationSocket(command.Port, command.Family);
                    break;
                case TurnServerCommandKind.FreeAllocation:
                    if (_path.AllocationSockets.Remove(command.Port, command.Family) is { } socket)
                    {
                        WorkerFor(command.Port).Remove(socket);
                        socket.Dispose();
                    }

                    break;
            }
        }
    }

    private void SendResponse(in TurnServerCommand command)
    {
        var destination = command.Destination!;
        _metrics.CountResponse(command.MessageType, command.ErrorCode);
        if (_path.ListenerFor(destination.AddressFamily, 0) is not { } listener)
        {
            return;
        }

        try
        {
            listener.Socket.SendTo(command.Payload!, SocketFlags.None, destination);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            LogSendFailed(_logger, e.Message);
        }
    }

    /// <summary>Binds one allocation socket before the Allocate success leaves; a failure goes back to the server.</summary>
    private void CreateAllocationSocket(int port, AddressFamily family)
    {
        var address = family == AddressFamily.InterNetworkV6 ? _bind6 : _bind4;
        RelayUdpSocket socket;
        try
        {
            socket = RelayUdpSocket.Open(address!, port, _options.SocketBufferSize, force: false);
        }
        catch (SocketException e)
        {
            bool inUse = e.SocketErrorCode == SocketError.AddressAlreadyInUse;
            LogAllocationBindFailed(_logger, port, family, e.Message, inUse);
            _server.HandleAllocationFailed(port, family, inUse, Now);
            return;
        }

        var worker = WorkerFor(port);
        _path.AllocationSockets.Set(socket);
        if (!worker.TryAdd(socket, out int errno))
        {
            _path.AllocationSockets.Remove(port, family);
            socket.Dispose();
            LogAllocationBindFailed(_logger, port, family, $"epoll_ctl failed (errno {errno})", false);
            _server.HandleAllocationFailed(port, family, false, Now);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to send a response: {Reason}")]
    private static partial void LogSendFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to bind allocation socket on port {Port} ({Family}): {Reason} (port in use: {InUse})")]
    private static partial void LogAllocationBindFailed(ILogger logger, int port, AddressFamily family, string reason, bool inUse);
}
