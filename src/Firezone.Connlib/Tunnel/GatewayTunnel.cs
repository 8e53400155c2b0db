using System.Net;
using System.Security.Cryptography;
using Firezone.Connlib.Gateway;
using Firezone.Connlib.Io;
using Firezone.Snownet;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Tunnel;

/// <summary>
/// The gateway's tunnel: a <see cref="GatewayState"/> owned by a <see cref="TunnelLoop"/> thread, and its name
/// resolution for DNS resources (<see cref="NameResolver"/>): <see cref="ResolveDns"/> and <see cref="RefreshDns"/>
/// events are resolved here and handed back to the state; other events go to the event callback on the loop
/// thread. Unlike upstream's driver, an erroring datagram does not discard the rest of its receive batch (tunnel
/// spec §1, fixed on purpose; <see cref="TunnelLoop"/>).
/// </summary>
internal sealed class GatewayTunnel : TunnelLoop
{
    private readonly byte[] _buffer = GC.AllocateUninitializedArray<byte>(Node.BufferSize, pinned: true);
    private readonly NameResolver _resolver;
    private readonly Action<GatewayEvent> _onEvent;

    public GatewayTunnel(TunnelIoOptions io, TimeProvider time, Func<string, CancellationToken, Task<IReadOnlyList<IPAddress>>>? resolve,
        TimeSpan resolveTimeout, Action<GatewayEvent> onEvent, ILoggerFactory loggerFactory)
        : base("gateway", io, time, loggerFactory.CreateLogger("Firezone.Connlib.Tunnel"))
    {
        _onEvent = onEvent;
        _resolver = new NameResolver(resolve, resolveTimeout, Wake, Counters);
        Span<byte> seed = stackalloc byte[32];
        RandomNumberGenerator.Fill(seed);
        State = new GatewayState(seed, Now, UtcNow, loggerFactory);
        CryptographicOperations.ZeroMemory(seed);
    }

    /// <summary>The state: touch it only on the loop thread.</summary>
    public GatewayState State { get; }

    /// <summary>Monotonic time of the loop's clock (for commands).</summary>
    public TimeSpan Time => Now;

    /// <summary>The wall clock (for commands).</summary>
    public DateTimeOffset WallClock => UtcNow;

    /// <summary>
    /// Resolves <paramref name="name"/> off the loop; <paramref name="then"/> runs on the loop thread with the addresses
    /// (empty on failure or timeout). False when too many resolutions are in flight (nothing will run).
    /// </summary>
    public bool Resolve(string name, Action<IReadOnlyList<IPAddress>> then) => _resolver.Start(name, then);

    protected override void OnSocketsRebound()
    {
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
        switch (State.PollEvent())
        {
            case null:
                return false;
            case ResolveDns resolve:
                StartResolve(resolve);
                return true;
            case RefreshDns refresh:
                StartRefresh(refresh);
                return true;
            case var e:
                _onEvent(e);
                return true;
        }
    }

    // Separate methods: a lambda capturing a switch-section local makes the compiler allocate its closure at the
    // start of the whole switch, i.e. on every PollEvent call (found by the steady-state allocation test).
    private void StartResolve(ResolveDns request)
    {
        if (!Resolve(request.Domain, addresses => State.HandleDomainResolved(request, addresses, Now)))
        {
            State.HandleDomainResolved(request, [], Now);
        }
    }

    private void StartRefresh(RefreshDns refresh) =>
        Resolve(refresh.Name, addresses => State.RefreshTranslation(refresh.Client, refresh.Resource, refresh.Name, addresses, Now));

    protected override bool PollPacket() => false;

    protected override bool PollTransmit()
    {
        if (State.PollTransmit() is not { } t)
        {
            return false;
        }

        Sockets.Enqueue(t.Source, t.Destination, t.Payload.Span);
        return true;
    }

    protected override TimeSpan? PollTimeout()
    {
        Counters.Connections = State.InnerNode.ConnectionCount; // plain stores for the metrics, once per iteration that reaches step 6
        Counters.ConnectionsEstablished = State.ConnectionsEstablished;
        return State.PollTimeout();
    }

    protected override void HandleTimeout(TimeSpan now) => State.HandleTimeout(now, UtcNow);

    protected override void HandleTunPacket(byte[] slot, int offset, int length, TimeSpan now)
    {
        var result = State.HandleTunInput(slot.AsSpan(offset, length), _buffer, now);
        switch (result.Status)
        {
            case TunInputStatus.Send:
                Sockets.Enqueue(result.Source, result.Destination!, _buffer.AsSpan(result.Offset, result.Length));
                return;
            case TunInputStatus.Error:
                Counters.Drop(TunnelDropReason.Refused);
                break;
        }

        State.HandleTimeout(now, UtcNow);
    }

    protected override void HandleDatagram(Span<byte> datagram, IPEndPoint from, IPEndPoint local, TimeSpan now)
    {
        var result = State.HandleNetworkInput(datagram, from, local, _buffer, now);
        switch (result.Status)
        {
            case NetworkInputStatus.Packet:
                Tun.TryWrite(_buffer.AsSpan(result.Offset, result.Length));
                return;
            case NetworkInputStatus.Error:
                Counters.Drop(TunnelDropReason.Refused);
                break;
        }

        State.HandleTimeout(now, UtcNow);
    }

    protected override bool HandleFinishedQuery(TimeSpan now)
    {
        if (!_resolver.TryTakeResult(out var result))
        {
            return false;
        }

        ((Action<IReadOnlyList<IPAddress>>)result.State)(result.Addresses);
        State.HandleTimeout(now, UtcNow);
        return true;
    }

    protected override void DisposeRole()
    {
        _resolver.Dispose();
        State.Dispose();
    }
}
