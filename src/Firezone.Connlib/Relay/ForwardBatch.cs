using System.Net;
using Firezone.Tun.Io;

namespace Firezone.Connlib.Relay;

/// <summary>
/// The datagrams one data-path thread forwards from one receive batch: each is a span of a pinned receive buffer, a
/// destination and the socket it leaves from. <see cref="Send"/> groups them per socket and flow into UDP GSO
/// messages (<see cref="GsoPlanner"/>) and sends each socket's share with one <c>sendmmsg</c>. Reused batch after
/// batch: no allocation once its tables have grown.
/// </summary>
internal sealed class ForwardBatch : IDisposable
{
    private readonly byte[][] _arrays;
    private readonly int[] _offsets;
    private readonly int[] _lengths;
    private readonly int[] _flows;
    private readonly int[] _order;
    private readonly int[] _messageEnds;
    private readonly int[] _segments;
    private readonly List<(RelayUdpSocket Socket, SocketAddress Destination)> _flowTargets = new();
    private readonly Dictionary<FlowKey, int> _flowIds = new(FlowKeyComparer.Instance);
    private readonly UdpSendBatch _send = new(maxMessages: 64, maxVectors: 1024);

    public ForwardBatch(int capacity)
    {
        Capacity = capacity;
        _arrays = new byte[capacity][];
        _offsets = new int[capacity];
        _lengths = new int[capacity];
        _flows = new int[capacity];
        _order = new int[capacity];
        _messageEnds = new int[capacity];
        _segments = new int[capacity];
    }

    public int Capacity { get; }

    public int Count { get; private set; }

    /// <summary>Queues <paramref name="length"/> bytes at <paramref name="offset"/> of a pinned buffer for <paramref name="destination"/> via <paramref name="socket"/>.</summary>
    public void Add(byte[] pinnedBuffer, int offset, int length, RelayUdpSocket socket, SocketAddress destination)
    {
        var key = new FlowKey(socket, destination);
        if (!_flowIds.TryGetValue(key, out int flow))
        {
            flow = _flowTargets.Count;
            _flowIds.Add(key, flow);
            _flowTargets.Add((socket, destination));
        }

        int i = Count++;
        _arrays[i] = pinnedBuffer;
        _offsets[i] = offset;
        _lengths[i] = length;
        _flows[i] = flow;
    }

    /// <summary>Sends everything queued; returns how many datagrams the kernel refused. Empties the batch.</summary>
    public int Send()
    {
        int failed = 0;
        try
        {
            if (Count == 0)
            {
                return 0;
            }

            int messages = GsoPlanner.Plan(_flows.AsSpan(0, Count), _lengths.AsSpan(0, Count), gso: true, _order, _messageEnds, _segments);
            // One pass per socket, in order of first appearance; messages of other sockets wait for their pass.
            for (int flow = 0; flow < _flowTargets.Count; flow++)
            {
                var socket = _flowTargets[flow].Socket;
                if (IsEarlierSocket(socket, flow))
                {
                    continue;
                }

                failed += SendSocket(socket, messages);
            }
        }
        finally
        {
            Array.Clear(_arrays, 0, Count);
            Count = 0;
            _flowIds.Clear();
            _flowTargets.Clear();
        }

        return failed;
    }

    private bool IsEarlierSocket(RelayUdpSocket socket, int flow)
    {
        for (int f = 0; f < flow; f++)
        {
            if (ReferenceEquals(_flowTargets[f].Socket, socket))
            {
                return true;
            }
        }

        return false;
    }

    private int SendSocket(RelayUdpSocket socket, int messages)
    {
        int failed = 0, start = 0, queued = 0;
        bool gso = socket.Gso;
        for (int m = 0; m < messages; start = _messageEnds[m], m++)
        {
            int first = _order[start];
            var (target, destination) = _flowTargets[_flows[first]];
            if (!ReferenceEquals(target, socket))
            {
                continue;
            }

            int count = _messageEnds[m] - start;
            bool asGso = gso && _segments[m] > 0;
            if (!_send.HasRoomForMessage(asGso ? count : 1) || (!asGso && _send.MessageCount + count > _send.MaxMessages))
            {
                failed += Flush(socket, ref queued);
            }

            if (asGso)
            {
                _send.BeginMessage(destination, _segments[m]);
                for (int k = start; k < _messageEnds[m]; k++)
                {
                    int d = _order[k];
                    _send.Append(_arrays[d], _offsets[d], _lengths[d]);
                }

                queued += count;
                continue;
            }

            for (int k = start; k < _messageEnds[m]; k++)
            {
                if (!_send.HasRoomForMessage())
                {
                    failed += Flush(socket, ref queued);
                }

                int d = _order[k];
                _send.BeginMessage(destination);
                _send.Append(_arrays[d], _offsets[d], _lengths[d]);
                queued++;
            }
        }

        return failed + Flush(socket, ref queued);
    }

    private int Flush(RelayUdpSocket socket, ref int queuedDatagrams)
    {
        if (_send.MessageCount == 0)
        {
            return 0;
        }

        int messages = _send.MessageCount;
        var result = _send.Flush(socket.Socket);
        if (result.GsoUnsupported)
        {
            socket.DisableGso();
        }

        // A refused GSO message loses all its segments; count datagrams proportionally (exact when nothing failed).
        int failed = result.Failed == 0 ? 0 : Math.Max(result.Failed, queuedDatagrams * result.Failed / messages);
        queuedDatagrams = 0;
        return failed;
    }

    public void Dispose() => _send.Dispose();

    private readonly record struct FlowKey(RelayUdpSocket Socket, SocketAddress Destination);

    private sealed class FlowKeyComparer : IEqualityComparer<FlowKey>
    {
        public static readonly FlowKeyComparer Instance = new();

        public bool Equals(FlowKey x, FlowKey y) => ReferenceEquals(x.Socket, y.Socket) && x.Destination.Equals(y.Destination);

        public int GetHashCode(FlowKey key) => HashCode.Combine(key.Socket.Port, key.Destination.GetHashCode());
    }
}
