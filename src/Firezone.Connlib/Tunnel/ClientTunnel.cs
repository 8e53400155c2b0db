using System.Net;
using System.Security.Cryptography;
using Firezone.Connlib.Client;
using Firezone.Connlib.Io;
using Firezone.Snownet;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Tunnel;

/// <summary>
/// The client's tunnel: a <see cref="ClientState"/> owned by a <see cref="TunnelLoop"/> thread, its recursive DNS on
/// the host's sockets (<see cref="RecursiveDnsClient"/>). Events go to the event callback on the loop thread (the
/// session turns them into portal messages and callbacks); everything else reaches the state through
/// <see cref="TunnelLoop.Post"/>.
/// </summary>
internal sealed class ClientTunnel : TunnelLoop
{
    private readonly byte[] _buffer = GC.AllocateUninitializedArray<byte>(Node.BufferSize, pinned: true);
    private readonly RecursiveDnsClient _dns;
    private readonly Action<ClientEvent> _onEvent;

    public ClientTunnel(TunnelIoOptions io, TimeProvider time, IReadOnlyDictionary<string, IReadOnlyList<IPAddress>>? knownHosts,
        Action<ClientEvent> onEvent, ILoggerFactory loggerFactory)
        : base("client", io, time, loggerFactory.CreateLogger("Firezone.Connlib.Tunnel"))
    {
        _onEvent = onEvent;
        _dns = new RecursiveDnsClient(Wake, Counters, io.SocketMark);
        Span<byte> seed = stackalloc byte[32];
        RandomNumberGenerator.Fill(seed);
        State = new ClientState(seed, Now, UtcNow, knownHosts, loggerFactory);
        CryptographicOperations.ZeroMemory(seed);
    }

    /// <summary>The state: touch it only on the loop thread (inside a posted command or the event callback).</summary>
    public ClientState State { get; }

    /// <summary>Monotonic time of the loop's clock (for commands).</summary>
    public TimeSpan Time => Now;

    /// <summary>Recursive DNS queries running now.</summary>
    public int DnsInFlight => _dns.InFlight;

    /// <summary>Tunnel reset (loop thread): the state's reset (new key, connections dropped), then new sockets.</summary>
    public void ResetOnLoop()
    {
        State.Reset(Now);
        RebindSockets();
    }

    protected override void OnSocketsRebound()
    {
        // Sockets bound to a concrete address are host candidates from the start (a wildcard is learnt from traffic).
        foreach (var socket in new[] { Sockets.V4, Sockets.V6 })
        {
            if (socket is not null)
            {
                State.AddLocalHostCandidate(socket.LocalEndPoint);
            }
        }
    }

    protected override bool PollEvent()
    {
        if (State.PollEvent() is not { } e)
        {
            return false;
        }

        _onEvent(e);
        return true;
    }

    protected override bool PollPacket()
    {
        if (State.PollPacket() is not { } packet)
        {
            return false;
        }

        Tun.TryWrite(packet.Span);
        return true;
    }

    protected override bool PollTransmit()
    {
        if (State.PollTransmit() is not { } t)
        {
            return false;
        }

        Sockets.Enqueue(t.Source, t.Destination, t.Payload.Span);
        return true;
    }

    protected override bool PollDnsQuery()
    {
        if (State.PollDnsQuery() is not { } query)
        {
            return false;
        }

        _dns.Start(query);
        return true;
    }

    protected override TimeSpan? PollTimeout()
    {
        Counters.Connections = State.ConnectionCount; // plain stores for the metrics, once per iteration that reaches step 6
        Counters.ConnectionsEstablished = State.ConnectionsEstablished;
        return State.PollTimeout();
    }

    protected override void HandleTimeout(TimeSpan now) => State.HandleTimeout(now);

    protected override void HandleTunPacket(byte[] slot, int offset, int length, TimeSpan now)
    {
        var result = State.HandleTunInput(slot.AsSpan(offset, length), _buffer, now);
        if (result.Status == EncapsulateStatus.Send)
        {
            Sockets.Enqueue(result.Source, result.Destination!, _buffer.AsSpan(result.Offset, result.Length));
            return;
        }

        if (result.Status == EncapsulateStatus.Error)
        {
            Counters.Drop(TunnelDropReason.Refused);
        }

        State.HandleTimeout(now);
    }

    protected override void HandleDatagram(Span<byte> datagram, IPEndPoint from, IPEndPoint local, TimeSpan now)
    {
        var result = State.HandleNetworkInput(datagram, from, local, _buffer, now);
        if (result.Status == ClientPacketStatus.Packet)
        {
            Tun.TryWrite(_buffer.AsSpan(result.Offset, result.Length));
            return;
        }

        if (result.Drop is not (ClientDropReason.None or ClientDropReason.NotAPacket or ClientDropReason.Consumed))
        {
            Counters.Drop(TunnelDropReason.Refused);
        }

        State.HandleTimeout(now);
    }

    protected override bool HandleFinishedQuery(TimeSpan now)
    {
        if (!_dns.TryTakeResult(out var result))
        {
            return false;
        }

        if (result.Response is { } response)
        {
            State.HandleDnsResponse(result.Query, response);
        }
        else
        {
            State.HandleDnsFailure(result.Query, result.Failure);
        }

        State.HandleTimeout(now);
        return true;
    }

    protected override void DisposeRole()
    {
        _dns.Dispose();
        State.Dispose();
    }
}
