using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Stun;
using Microsoft.Extensions.Logging;

namespace Firezone.Snownet.Turn;

/// <summary>
/// Allocation ports: random draws, ports the host found taken (busy for <see cref="BusyPortHold"/>: skipped while a
/// free port remains, tried again oldest first when none does), moving an
/// allocation whose socket could not be bound, and the Allocate response that names the port finally used.
/// </summary>
public sealed partial class TurnServer
{
    /// <summary>
    /// The host could not open the socket (<paramref name="port"/>, <paramref name="family"/>) of the CreateAllocation it
    /// just polled. When <paramref name="portInUse"/> (another process holds the port, which happens because the default
    /// range overlaps Linux's ephemeral ports) and the Allocate response has not been polled yet, the port is marked busy
    /// for <see cref="BusyPortHold"/>, the sockets of this allocation the host already opened are freed, and the allocation
    /// moves to a freshly drawn port: FreeAllocation for the opened sockets, then CreateAllocation for the new port, are
    /// the next commands, ahead of the Allocate response, which then carries the new port. At most
    /// <see cref="TurnServerOptions.MaxPortAttempts"/> ports are tried per Allocate. Otherwise (not <paramref name="portInUse"/>,
    /// attempts used up, no free port left) the allocation is deleted and its pending response becomes a signed 508.
    /// </summary>
    /// <remarks>
    /// Host contract: execute each CreateAllocation synchronously and report its failure here before polling the next
    /// command. A report for a socket whose CreateAllocation was not polled (or that belongs to an allocation that has
    /// since moved) is ignored. If the Allocate response has already left, the allocation is simply deleted.
    /// </remarks>
    public void HandleAllocationFailed(int port, AddressFamily family, bool portInUse, TimeSpan now)
    {
        byte flag = RelayAllocation.FamilyFlag(family);
        if (!_allocationsByPort.TryGetValue(port, out var allocation) || (allocation.PolledFamilies & flag) == 0)
        {
            return;
        }

        byte opened = (byte)(allocation.PolledFamilies & ~flag);
        LogAllocationFailed(_logger, allocation.Client, port, family, portInUse);
        if (portInUse)
        {
            MarkBusy(port, now.Ticks);
        }

        // Void the CreateAllocation commands of this port still queued (e.g. the IPv6 one after IPv4 failed).
        allocation.Generation++;
        allocation.PolledFamilies = 0;

        // Off the old port before drawing, so that the port is not counted twice (allocated and busy).
        _allocationsByPort.Remove(port);
        if (portInUse && allocation.Pending is not null && allocation.PortAttempts < _maxPortAttempts && TryDrawPort(out int next, markedBefore: allocation.AllocatedAtTicks))
        {
            allocation.Port = next;
            allocation.PortAttempts++;
            _allocationsByPort.Add(next, allocation);
            RepublishRoutes(allocation, port);
            QueueCreateCommands(allocation, front: true);
            LogAllocationMoved(_logger, allocation.Client, port, next);
        }
        else
        {
            if (allocation.Pending is { } pending)
            {
                pending.Failed = true;
            }

            DeleteAllocation(allocation, freeSockets: false);
        }

        // Frees go first, ahead of the retry's CreateAllocation commands: IPv4, then IPv6.
        if ((opened & RelayAllocation.IPv6Flag) != 0)
        {
            _commands.PushFront(new QueuedCommand(Free(port, AddressFamily.InterNetworkV6)));
        }

        if ((opened & RelayAllocation.IPv4Flag) != 0)
        {
            _commands.PushFront(new QueuedCommand(Free(port, AddressFamily.InterNetwork)));
        }
    }

    /// <summary>Queues CreateAllocation for each family of <paramref name="allocation"/> (IPv4 first), at the back or the front.</summary>
    private void QueueCreateCommands(RelayAllocation allocation, bool front)
    {
        var v4 = new QueuedCommand(Create(allocation.Port, AddressFamily.InterNetwork), allocation, allocation.Generation);
        var v6 = new QueuedCommand(Create(allocation.Port, AddressFamily.InterNetworkV6), allocation, allocation.Generation);
        if (front)
        {
            if (allocation.HasIPv6)
            {
                _commands.PushFront(v6);
            }

            if (allocation.HasIPv4)
            {
                _commands.PushFront(v4);
            }

            return;
        }

        if (allocation.HasIPv4)
        {
            _commands.Enqueue(v4);
        }

        if (allocation.HasIPv6)
        {
            _commands.Enqueue(v6);
        }
    }

    private void MarkBusy(int port, long nowTicks)
    {
        if (!_busyPorts.TryGetValue(port, out var busy))
        {
            busy = new BusyPort(port);
            _busyPorts.Add(port, busy);
        }

        _deadlines.Schedule(busy, nowTicks + BusyPortHold.Ticks, RankBusyPort);
    }

    private bool IsFree(int port) => !_allocationsByPort.ContainsKey(port) && !_busyPorts.ContainsKey(port);

    /// <summary>
    /// Draws a port uniformly from the ports that are neither allocated nor busy. When every unallocated port is busy,
    /// takes the busy port marked longest ago, if it was marked before <paramref name="markedBefore"/> (ticks; ports
    /// marked since were tried by this very Allocate): the other program may have let it go meanwhile. False when no
    /// port is left to try.
    /// </summary>
    private bool TryDrawPort(out int port, long markedBefore = long.MaxValue)
    {
        int count = PortCount;
        port = 0;
        if (_allocationsByPort.Count + _busyPorts.Count >= count)
        {
            return TryOldestBusyPort(out port, markedBefore);
        }

        Span<byte> random = stackalloc byte[4];
        int candidate = LowestPort;
        for (int attempt = 0; attempt < 64; attempt++)
        {
            _random(random);
            candidate = LowestPort + (int)(BitConverter.ToUInt32(random) % (uint)count);
            if (IsFree(candidate))
            {
                port = candidate;
                return true;
            }
        }

        // Unlike upstream (which redraws forever), fall back to a scan from the last draw (O(range), only when nearly full).
        for (int i = 1; i <= count; i++)
        {
            int next = LowestPort + ((candidate - LowestPort + i) % count);
            if (IsFree(next))
            {
                port = next;
                return true;
            }
        }

        return TryOldestBusyPort(out port, markedBefore);
    }

    /// <summary>The busy port with the earliest end of hold (then the lowest number) marked before <paramref name="markedBefore"/>.</summary>
    private bool TryOldestBusyPort(out int port, long markedBefore)
    {
        long latestDue = markedBefore == long.MaxValue ? long.MaxValue : markedBefore + BusyPortHold.Ticks;
        port = 0;
        BusyPort? oldest = null;
        long oldestDue = 0;
        foreach (var busy in _busyPorts.Values)
        {
            long due = _deadlines.DueOf(busy);
            if (due < latestDue && !_allocationsByPort.ContainsKey(busy.Port)
                && (oldest is null || due < oldestDue || (due == oldestDue && busy.Port < oldest.Port)))
            {
                oldest = busy;
                oldestDue = due;
            }
        }

        if (oldest is null)
        {
            return false;
        }

        port = oldest.Port;
        return true;
    }

    /// <summary>Builds the Allocate response when the host polls it: the success on the final port, or 508 if the allocation failed.</summary>
    private TurnServerCommand CompleteAllocateResponse(PendingAllocateResponse pending, TurnServerCommand command)
    {
        var allocation = pending.Allocation;
        if (ReferenceEquals(allocation.Pending, pending))
        {
            allocation.Pending = null;
        }

        if (pending.Failed)
        {
            var signing = new Signing(true, pending.Key);
            LogErrorResponse(_logger, StunMethod.Allocate, allocation.Client, StunErrorCode.InsufficientCapacity);
            return command with
            {
                Payload = BuildError(StunMethod.Allocate, pending.TransactionId, StunErrorCode.InsufficientCapacity, signing, 0),
                ErrorCode = StunErrorCode.InsufficientCapacity,
            };
        }

        var payload = BuildSuccess(
            StunMethod.Allocate,
            pending.TransactionId,
            pending.Key,
            allocation.HasIPv4 ? new IPEndPoint(PublicIPv4!, allocation.Port) : null,
            allocation.HasIPv6 ? new IPEndPoint(PublicIPv6!, allocation.Port) : null,
            allocation.Client,
            pending.Lifetime);
        return command with { Payload = payload, ErrorCode = 0 };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Allocation of {Client} on port {Port}: the host could not open its {Family} socket (port in use: {PortInUse})")]
    private static partial void LogAllocationFailed(ILogger logger, IPEndPoint client, int port, AddressFamily family, bool portInUse);

    [LoggerMessage(Level = LogLevel.Information, Message = "Allocation of {Client} moves from taken port {From} to port {To}")]
    private static partial void LogAllocationMoved(ILogger logger, IPEndPoint client, int from, int to);
}
