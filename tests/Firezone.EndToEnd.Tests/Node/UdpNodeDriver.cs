using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Firezone.Snownet;

namespace Firezone.EndToEnd.Tests.Node;

/// <summary>
/// A small real driver for a <see cref="Firezone.Snownet.Node"/>: one UDP socket on 127.0.0.1 (destination addresses from
/// IP_PKTINFO), one thread that owns the node (receive → Decapsulate, drain transmits and events, sleep until the next
/// datagram or PollTimeout). Other threads talk to the node only by posting actions. Optionally a test firewall that drops
/// every datagram not from an allowed address (to force the relayed path on loopback).
/// </summary>
internal sealed class UdpNodeDriver : IDisposable
{
    private readonly Socket _socket;
    private readonly Thread _thread;
    private readonly ConcurrentQueue<Action<Firezone.Snownet.Node, TimeSpan>> _actions = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly byte[] _receive = new byte[65536];
    private readonly byte[] _buffer = new byte[Firezone.Snownet.Node.BufferSize];

    public UdpNodeDriver(Firezone.Snownet.Node node)
    {
        Node = node;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);
        _socket.ReceiveBufferSize = 4 << 20; // loopback drops what overflows a socket buffer
        _socket.SendBufferSize = 4 << 20;
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _thread = new Thread(Loop) { IsBackground = true, Name = $"node-driver-{LocalEndPoint.Port}" };
    }

    public Firezone.Snownet.Node Node { get; }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Only datagrams from these addresses get through (null: everything).</summary>
    public Func<IPEndPoint, bool>? Firewall { get; set; }

    public Action<NodeEvent, TimeSpan>? OnEvent { get; set; }

    public ConcurrentQueue<byte[]> Received { get; } = new();

    public ConcurrentQueue<NodeEvent> Events { get; } = new();

    public long DatagramsSent;

    public long DatagramsReceived;

    public TimeSpan Now => Stopwatch.GetElapsedTime(_start);

    public static TimeSpan Clock(long start) => Stopwatch.GetElapsedTime(start);

    public void Start() => _thread.Start();

    /// <summary>Runs <paramref name="action"/> on the driver's thread (the node is single-threaded).</summary>
    public void Post(Action<Firezone.Snownet.Node, TimeSpan> action) => _actions.Enqueue(action);

    /// <summary>Runs a function on the driver's thread and waits for its result.</summary>
    public T Invoke<T>(Func<Firezone.Snownet.Node, TimeSpan, T> function)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post((node, now) =>
        {
            try
            {
                done.SetResult(function(node, now));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        return done.Task.WaitAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
    }

    /// <summary>Encapsulates and sends an IP packet (from the driver's thread).</summary>
    public void SendPacket(ConnectionId connection, byte[] packet) => Post((node, now) =>
    {
        var result = node.Encapsulate(connection, packet, _buffer, now);
        if (result.Status == EncapsulateStatus.Send)
        {
            Send(result.Destination!, _buffer.AsSpan(result.Offset, result.Length));
        }
        else
        {
            node.HandleTimeout(now);
        }
    });

    private void Loop()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            var now = Now;
            for (int i = 0; i < 16 && _actions.TryDequeue(out var action); i++) // then read the socket again
            {
                action(Node, now);
            }

            Drain(now);
            var wait = _actions.IsEmpty ? TimeSpan.FromMilliseconds(20) : TimeSpan.Zero;
            if (Node.PollTimeout() is { } due)
            {
                wait = due <= now ? TimeSpan.Zero : due - now < wait ? due - now : wait;
            }

            if (wait == TimeSpan.Zero && Node.PollTimeout() is { } overdue && overdue <= now)
            {
                Node.HandleTimeout(now);
                Drain(now);
                continue;
            }

            try
            {
                if (!_socket.Poll((int)wait.TotalMicroseconds, SelectMode.SelectRead))
                {
                    continue;
                }

                EndPoint remote = new IPEndPoint(IPAddress.Any, 0);
                var flags = SocketFlags.None;
                int n = _socket.ReceiveMessageFrom(_receive, ref flags, ref remote, out var info);
                var from = (IPEndPoint)remote;
                if (Firewall is { } allow && !allow(from))
                {
                    continue;
                }

                Interlocked.Increment(ref DatagramsReceived);
                if (n > Firezone.Snownet.Node.BufferSize)
                {
                    continue; // the spec's receive limit
                }

                var local = new IPEndPoint(info.Address, LocalEndPoint.Port);
                now = Now;
                var result = Node.Decapsulate(_receive.AsSpan(0, n), from, local, _buffer, now);
                if (result.Status == DecapsulateStatus.Packet)
                {
                    Received.Enqueue(_buffer.AsSpan(result.Offset, result.Length).ToArray());
                }
                else
                {
                    Node.HandleTimeout(now);
                }
            }
            catch (SocketException)
            {
                // ICMP port unreachable reported on a later call, and the like
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }
    }

    private void Drain(TimeSpan now)
    {
        while (Node.PollTransmit() is { } transmit)
        {
            Send(transmit.Destination, transmit.Payload.Span);
        }

        while (Node.PollEvent() is { } e)
        {
            Events.Enqueue(e);
            OnEvent?.Invoke(e, now);
        }
    }

    private void Send(IPEndPoint destination, ReadOnlySpan<byte> datagram)
    {
        if (destination.AddressFamily != AddressFamily.InterNetwork)
        {
            return;
        }

        try
        {
            _socket.SendTo(datagram, SocketFlags.None, destination);
            Interlocked.Increment(ref DatagramsSent);
        }
        catch (SocketException)
        {
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        if (_thread.IsAlive)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }

        _socket.Dispose();
        Node.Dispose();
        _stop.Dispose();
    }
}
