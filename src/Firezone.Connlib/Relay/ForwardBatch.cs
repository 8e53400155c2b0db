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
    private readonly List<int> _flowSocket = new();
    private readonly List<RelayUdpSocket> _sockets = new();
    private readonly Dictionary<FlowKey, int> _flowIds = new(FlowKeyComparer.Instance);
    private readonly Dictionary<RelayUdpSocket, int> _socketIds = new(ReferenceEqualityComparer.Instance);
    private readonly int[] _messageStarts;
    private readonly int[] _bySocket;
    private int[] _socketOffsets = new int[16];
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
        _messageStarts = new int[capacity];
        _bySocket = new int[capacity];
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
            if (!_socketIds.TryGetValue(socket, out int id))
            {
                id = _sockets.Count;
                _socketIds.Add(socket, id);
                _sockets.Add(socket);
            }

            _flowSocket.Add(id);
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

            // Group the messages by socket (a counting sort keeps their order), then one sendmmsg pass per socket.
            int sockets = _sockets.Count;
            if (_socketOffsets.Length < sockets + 1)
            {
                _socketOffsets = new int[Math.Max(sockets + 1, _socketOffsets.Length * 2)];
            }

            var offsets = _socketOffsets.AsSpan(0, sockets + 1);
            offsets.Clear();
            for (int m = 0; m < messages; m++)
            {
                _messageStarts[m] = m == 0 ? 0 : _messageEnds[m - 1];
                offsets[SocketOf(m) + 1]++;
            }

            for (int i = 1; i <= sockets; i++)
            {
                offsets[i] += offsets[i - 1];
            }

            for (int m = 0; m < messages; m++)
            {
                _bySocket[offsets[SocketOf(m)]++] = m;
            }

            int start = 0;
            for (int i = 0; i < sockets; i++)
            {
                int end = offsets[i]; // after the fill, offsets[i] is where socket i's messages end
                failed += SendSocket(_sockets[i], _bySocket.AsSpan(start, end - start));
                start = end;
            }
        }
        finally
        {
            Array.Clear(_arrays, 0, Count);
            Count = 0;
            _flowIds.Clear();
            _flowTargets.Clear();
            _flowSocket.Clear();
            _socketIds.Clear();
            _sockets.Clear();
        }

        return failed;
    }

    private int SocketOf(int message) => _flowSocket[_flows[_order[_messageStarts[message]]]];

    private int SendSocket(RelayUdpSocket socket, ReadOnlySpan<int> messages)
    {
        int failed = 0, queued = 0;
        bool gso = socket.Gso;
        foreach (int m in messages)
        {
            int start = _messageStarts[m];
            var destination = _flowTargets[_flows[_order[start]]].Destination;
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
