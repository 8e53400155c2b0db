using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.WireGuard;

namespace Firezone.Snownet.Tests.WireGuard;

/// <summary>
/// Test IO driver around our sans-IO <see cref="Tunnel"/>: one UDP socket, one loop thread that owns the tunnel,
/// a monotonic clock (a <see cref="Stopwatch"/>) that tests can move forward, the wall clock read once as the
/// tunnel's TAI64N anchor, the OS CSPRNG. It follows the contract: wake at <see cref="Tunnel.PollTimeout"/>, drain
/// <see cref="Tunnel.PollTransmit"/> after every call. Decrypted ICMP echo requests are answered; echo replies are counted.
/// </summary>
internal sealed class UdpTunnelDriver : IDisposable
{
    private readonly Socket _socket;
    private readonly Thread _thread;
    private readonly ConcurrentQueue<Action> _actions = new();
    private readonly byte[] _rx = new byte[2048];
    private readonly byte[] _tx = new byte[2048];
    private readonly byte[] _sourceBytes = new byte[18];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private volatile bool _stop;
    private long _clockOffsetTicks;

    public Tunnel Tunnel { get; }
    public IPEndPoint LocalEndpoint { get; }
    public EndPoint? Remote { get; set; }
    public int EchoRequestsAnswered;
    public int EchoRepliesReceived;
    public readonly ConcurrentQueue<byte[]> ReceivedTransport = new();
    public readonly ConcurrentQueue<byte[]> ReceivedInitiations = new();
    public readonly ConcurrentQueue<string> Errors = new();
    public Exception? LoopFailure;

    public TimeSpan Now => _clock.Elapsed + TimeSpan.FromTicks(Interlocked.Read(ref _clockOffsetTicks));

    public UdpTunnelDriver(IPAddress bindAddress, byte[] privateKey, byte[] peerPublicKey, uint index24, int handshakeLimit = RateLimiter.DefaultLimit)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(bindAddress, 0));
        LocalEndpoint = (IPEndPoint)_socket.LocalEndPoint!;
        var publicKey = new byte[32];
        X25519.PublicKeyOf(privateKey, publicKey);
        Tunnel = new Tunnel(privateKey, peerPublicKey, new byte[32], null, index24, new RateLimiter(publicKey, handshakeLimit), Now, DateTimeOffset.UtcNow, RandomSource.Secure);
        _thread = new Thread(Loop) { IsBackground = true, Name = "wg-test-driver" };
        _thread.Start();
    }

    public void AdvanceClock(TimeSpan by) => Interlocked.Add(ref _clockOffsetTicks, by.Ticks);

    /// <summary>Runs <paramref name="f"/> on the loop thread and waits for its result.</summary>
    public T Invoke<T>(Func<Tunnel, T> f)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _actions.Enqueue(() =>
        {
            try { tcs.SetResult(f(Tunnel)); }
            catch (Exception e) { tcs.SetException(e); }
        });
        if (!tcs.Task.Wait(TimeSpan.FromSeconds(10))) throw new TimeoutException("driver loop did not run the action");
        return tcs.Task.Result;
    }

    /// <summary>Encapsulates an IP packet and sends what comes out.</summary>
    public TunnelResult Send(byte[] packet) => Invoke(t =>
    {
        var r = t.Encapsulate(packet, _tx, Now);
        Handle(r, _tx);
        return r;
    });

    /// <summary>Sends a forced handshake initiation.</summary>
    public TunnelResult ForceHandshake() => Invoke(t =>
    {
        var r = t.FormatHandshakeInitiation(_tx, force: true, Now);
        Handle(r, _tx);
        return r;
    });

    private void Loop()
    {
        try
        {
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            while (!_stop)
            {
                while (_actions.TryDequeue(out var action)) action();
                if (_socket.Poll(TimeSpan.FromMilliseconds(20), SelectMode.SelectRead))
                {
                    var n = _socket.ReceiveFrom(_rx, ref from);
                    var datagram = _rx.AsSpan(0, n);
                    if (n > 0 && datagram[0] == MessageFormat.TypeData) ReceivedTransport.Enqueue(datagram.ToArray());
                    if (n > 0 && datagram[0] == MessageFormat.TypeInitiation) ReceivedInitiations.Enqueue(datagram.ToArray());
                    Remote ??= from;
                    // The cookie is bound to the sender's address and port.
                    var source = (IPEndPoint)from;
                    var sourceBytes = _sourceBytes.AsSpan();
                    source.Address.TryWriteBytes(sourceBytes, out var addressLength);
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(sourceBytes[addressLength..], (ushort)source.Port);
                    var r = Tunnel.Decapsulate(datagram, sourceBytes[..(addressLength + 2)], _tx, Now);
                    if (r.Kind == TunnelResultKind.WriteToNetwork) Remote = from; // the peer answered from here
                    Handle(r, _tx);
                }
                if (Tunnel.PollTimeout() is { } due && due <= Now)
                {
                    Tunnel.HandleTimeout(Now);
                    Handle(TunnelResult.Done, _tx);
                }
            }
        }
        catch (Exception e)
        {
            LoopFailure = e;
        }
    }

    private void Handle(TunnelResult r, byte[] buffer)
    {
        switch (r.Kind)
        {
            case TunnelResultKind.WriteToNetwork:
                SendTo(buffer.AsSpan(0, r.Length));
                break;
            case TunnelResultKind.WriteToTunnelV4:
                var packet = buffer.AsSpan(0, r.Length);
                var reply = Icmp4.ReplyTo(packet);
                if (reply is not null)
                {
                    var e = Tunnel.Encapsulate(reply, buffer, Now);
                    if (e.Kind == TunnelResultKind.WriteToNetwork)
                    {
                        SendTo(buffer.AsSpan(0, e.Length));
                        Interlocked.Increment(ref EchoRequestsAnswered);
                    }
                }
                else if (Icmp4.IsIcmp(packet, 0))
                {
                    Interlocked.Increment(ref EchoRepliesReceived);
                }
                break;
            case TunnelResultKind.Error:
                Errors.Enqueue(r.Error.ToString());
                break;
        }
        // After every call: whatever the timers, answers and queue want sent.
        for (var i = 0; i < 300; i++)
        {
            var more = Tunnel.PollTransmit(buffer, Now);
            if (more.Kind != TunnelResultKind.WriteToNetwork) break;
            SendTo(buffer.AsSpan(0, more.Length));
        }
    }

    private void SendTo(ReadOnlySpan<byte> datagram)
    {
        if (Remote is { } remote) _socket.SendTo(datagram, SocketFlags.None, remote);
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join(TimeSpan.FromSeconds(5));
        _socket.Dispose();
        Tunnel.Dispose();
    }
}
