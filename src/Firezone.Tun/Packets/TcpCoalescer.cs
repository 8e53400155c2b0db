using System.Buffers.Binary;

namespace Firezone.Tun.Packets;

/// <summary>What a <see cref="TcpCoalescer"/> hands to its sink: one packet, or several TCP segments merged into one.</summary>
/// <param name="Segments">Segments merged (1: the packet as it came, unchanged).</param>
/// <param name="IpHeaderLength">20 (IPv4) or 40 (IPv6).</param>
/// <param name="TcpHeaderLength">The TCP header's length with options.</param>
/// <param name="SegmentSize">Payload bytes of every segment but the last (the GSO size).</param>
internal readonly record struct CoalescedPacket(int Segments, int IpHeaderLength, int TcpHeaderLength, int SegmentSize)
{
    /// <summary>True for an IPv6 packet.</summary>
    public bool IsIPv6 => IpHeaderLength == IpConstants.Ipv6HeaderLength;
}

/// <summary>Receives what a <see cref="TcpCoalescer"/> releases.</summary>
internal interface ICoalescedPacketSink
{
    /// <summary>
    /// Writes one packet: <paramref name="buffer"/> holds the coalescer's headroom, then the packet. For a merged
    /// packet (<see cref="CoalescedPacket.Segments"/> &gt; 1) the IP lengths (and IPv4 header checksum) are those of the
    /// whole and the TCP checksum field holds the pseudo-header sum only (a partial checksum to complete over the TCP
    /// header and payload, as GSO expects). False when the write failed.
    /// </summary>
    bool Write(Span<byte> buffer, in CoalescedPacket packet);
}

/// <summary>
/// Receive-side coalescing for writes into a TUN that takes super-packets (<c>IFF_VNET_HDR</c>): consecutive TCP
/// segments of one flow become one packet, like Linux's GRO (<c>tcp_gro_receive</c>), so the kernel's TCP stack
/// processes one packet instead of dozens. A segment joins its flow's pending packet when: IPv4 without options and
/// not a fragment, or IPv6 without extension headers; same addresses, ports, IPv4 TOS/TTL/DF or IPv6 traffic class,
/// flow label and hop limit; same acknowledgement number, window and TCP options (byte for byte, timestamps included);
/// only ACK and PSH set; its sequence number continuing the pending payload; its TCP checksum valid; a payload no
/// longer than the first segment's. A shorter segment or PSH ends the merge (it joins, then the packet is released);
/// anything else that cannot join releases the flow's pending packet first, so order within a flow is kept. At most
/// <see cref="MaxFlows"/> flows are pending (the oldest is released for a new one), at most <see cref="MaxSegments"/>
/// segments and 65,535 IP bytes per packet. Not thread-safe; no allocation after construction.
/// </summary>
internal sealed class TcpCoalescer
{
    /// <summary>Flows held at once.</summary>
    public const int MaxFlows = 8;

    /// <summary>Segments merged into one packet at most.</summary>
    public const int MaxSegments = 64;

    private const int MaxPacket = 65_535;
    private const byte Ack = 0x10;
    private const byte Psh = 0x08;

    private readonly int _headroom;
    private readonly ICoalescedPacketSink _sink;
    private readonly byte[][] _buffers = new byte[MaxFlows][];
    private readonly Flow[] _flows = new Flow[MaxFlows];
    private readonly byte[] _scratch;
    private int _next;

    private struct Flow
    {
        public bool Active;
        public int Length; // bytes of the packet so far
        public int IpHeaderLength;
        public int TcpHeaderLength;
        public int SegmentSize;
        public int Segments;
        public uint NextSequence;
        public ushort FirstId; // IPv4 identification of the first segment: the kernel's GSO numbers the rest on from it
        public bool Closed; // a short segment or PSH joined: nothing more may
    }

    /// <summary>Creates a coalescer whose packets start at <paramref name="headroom"/> of their buffers.</summary>
    public TcpCoalescer(int headroom, ICoalescedPacketSink sink)
    {
        _headroom = headroom;
        _sink = sink;
        for (int i = 0; i < MaxFlows; i++)
        {
            _buffers[i] = GC.AllocateUninitializedArray<byte>(headroom + MaxPacket, pinned: true);
        }

        _scratch = GC.AllocateUninitializedArray<byte>(headroom + MaxPacket, pinned: true);
    }

    /// <summary>Segments merged so far (for tests and counters).</summary>
    public long Merged { get; private set; }

    /// <summary>
    /// Takes one IP packet: held for merging, merged into its flow's pending packet, or (not TCP data that can merge)
    /// written at once after its flow's pending packet. False when a write failed (the packet or one released).
    /// </summary>
    public bool Add(ReadOnlySpan<byte> packet)
    {
        if (!IsCandidate(packet, out int ipHeaderLength, out int tcpHeaderLength))
        {
            bool ok = true;
            if (FindFlowOf(packet) is int pending and >= 0)
            {
                ok = Release(pending);
            }

            return WriteAlone(packet) && ok;
        }

        int flow = FindFlowOf(packet);
        if (flow >= 0)
        {
            if (TryAppend(flow, packet, ipHeaderLength, tcpHeaderLength))
            {
                return _flows[flow].Closed ? Release(flow) : true;
            }

            bool released = Release(flow);
            Start(flow, packet, ipHeaderLength, tcpHeaderLength);
            return released;
        }

        bool ok2 = true;
        flow = FreeSlot();
        if (flow < 0)
        {
            flow = _next;
            _next = (_next + 1) % MaxFlows;
            ok2 = Release(flow);
        }

        Start(flow, packet, ipHeaderLength, tcpHeaderLength);
        return ok2;
    }

    /// <summary>Releases every pending packet (call when a batch of writes ends). False when a write failed.</summary>
    public bool Flush()
    {
        bool ok = true;
        for (int i = 0; i < MaxFlows; i++)
        {
            if (_flows[i].Active)
            {
                ok &= Release(i);
            }
        }

        return ok;
    }

    /// <summary>True when a packet is pending.</summary>
    public bool HasPending
    {
        get
        {
            foreach (var f in _flows)
            {
                if (f.Active)
                {
                    return true;
                }
            }

            return false;
        }
    }

    private bool WriteAlone(ReadOnlySpan<byte> packet)
    {
        if (packet.Length > MaxPacket)
        {
            return false;
        }

        packet.CopyTo(_scratch.AsSpan(_headroom));
        return _sink.Write(_scratch.AsSpan(0, _headroom + packet.Length), new CoalescedPacket(1, 0, 0, 0));
    }

    private int FreeSlot()
    {
        for (int i = 0; i < MaxFlows; i++)
        {
            if (!_flows[i].Active)
            {
                return i;
            }
        }

        return -1;
    }

    private void Start(int flow, ReadOnlySpan<byte> packet, int ipHeaderLength, int tcpHeaderLength)
    {
        packet.CopyTo(_buffers[flow].AsSpan(_headroom));
        int payload = packet.Length - ipHeaderLength - tcpHeaderLength;
        byte flags = packet[ipHeaderLength + 13];
        _flows[flow] = new Flow
        {
            Active = true,
            Length = packet.Length,
            IpHeaderLength = ipHeaderLength,
            TcpHeaderLength = tcpHeaderLength,
            SegmentSize = payload,
            Segments = 1,
            NextSequence = BinaryPrimitives.ReadUInt32BigEndian(packet[(ipHeaderLength + 4)..]) + (uint)payload,
            FirstId = ipHeaderLength == IpConstants.Ipv4HeaderLength ? BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) : (ushort)0,
            Closed = (flags & Psh) != 0,
        };
    }

    private bool TryAppend(int flow, ReadOnlySpan<byte> packet, int ipHeaderLength, int tcpHeaderLength)
    {
        ref var f = ref _flows[flow];
        int headers = ipHeaderLength + tcpHeaderLength;
        int payload = packet.Length - headers;
        if (f.Closed || f.IpHeaderLength != ipHeaderLength || f.TcpHeaderLength != tcpHeaderLength || payload > f.SegmentSize
            || f.Segments >= MaxSegments || f.Length + payload > MaxPacket
            || BinaryPrimitives.ReadUInt32BigEndian(packet[(ipHeaderLength + 4)..]) != f.NextSequence)
        {
            return false;
        }

        var held = _buffers[flow].AsSpan(_headroom, f.Length);
        if (ipHeaderLength == IpConstants.Ipv4HeaderLength)
        {
            // TOS, DF and TTL as the first segment's. The kernel's GSO numbers the segments' identifications on from the
            // first: without DF the identification matters (fragments), so only the next number may merge; with DF the
            // datagrams are atomic and their identification has no meaning (RFC 6864 §4.1), so any may.
            if (held[1] != packet[1] || (held[6] & 0x40) != (packet[6] & 0x40) || held[8] != packet[8]
                || ((packet[6] & 0x40) == 0 && BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) != (ushort)(f.FirstId + f.Segments)))
            {
                return false;
            }
        }
        else if (!held[..4].SequenceEqual(packet[..4]) || held[7] != packet[7])
        {
            return false; // traffic class, flow label, hop limit
        }

        // Acknowledgement, data offset, flags (but PSH), window; then the options.
        var heldTcp = held[ipHeaderLength..];
        var tcp = packet[ipHeaderLength..];
        if (!heldTcp.Slice(8, 5).SequenceEqual(tcp.Slice(8, 5)) || (heldTcp[13] & ~Psh) != (tcp[13] & ~Psh)
            || !heldTcp.Slice(14, 2).SequenceEqual(tcp.Slice(14, 2)) || !heldTcp[20..tcpHeaderLength].SequenceEqual(tcp[20..tcpHeaderLength]))
        {
            return false;
        }

        packet[headers..].CopyTo(_buffers[flow].AsSpan(_headroom + f.Length));
        f.Length += payload;
        f.Segments++;
        f.NextSequence += (uint)payload;
        Merged++;
        if ((tcp[13] & Psh) != 0)
        {
            heldTcp[13] |= Psh;
            f.Closed = true;
        }

        if (payload < f.SegmentSize)
        {
            f.Closed = true;
        }

        return true;
    }

    private bool Release(int flow)
    {
        ref var f = ref _flows[flow];
        if (!f.Active)
        {
            return true;
        }

        f.Active = false;
        var buffer = _buffers[flow].AsSpan(0, _headroom + f.Length);
        if (f.Segments == 1)
        {
            return _sink.Write(buffer, new CoalescedPacket(1, f.IpHeaderLength, f.TcpHeaderLength, f.SegmentSize));
        }

        var packet = buffer[_headroom..];
        int tcpLength = f.Length - f.IpHeaderLength;
        ulong pseudo;
        if (f.IpHeaderLength == IpConstants.Ipv4HeaderLength)
        {
            BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)f.Length);
            packet[10] = packet[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(packet[10..], InternetChecksum.Compute(packet[..IpConstants.Ipv4HeaderLength]));
            pseudo = InternetChecksum.PseudoHeader(packet.Slice(12, 4), packet.Slice(16, 4), IpConstants.ProtocolTcp, tcpLength);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(packet[4..], (ushort)tcpLength);
            pseudo = InternetChecksum.PseudoHeader(packet.Slice(8, 16), packet.Slice(24, 16), IpConstants.ProtocolTcp, tcpLength);
        }

        BinaryPrimitives.WriteUInt16BigEndian(packet[(f.IpHeaderLength + 16)..], InternetChecksum.Fold(pseudo));
        return _sink.Write(buffer, new CoalescedPacket(f.Segments, f.IpHeaderLength, f.TcpHeaderLength, f.SegmentSize));
    }

    /// <summary>The pending flow with <paramref name="packet"/>'s addresses and ports, or -1 (also for non-TCP packets).</summary>
    private int FindFlowOf(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < 1)
        {
            return -1;
        }

        int ipHeaderLength;
        int version = packet[0] >> 4;
        if (version == 4 && packet.Length >= 40 && packet[0] == 0x45 && packet[9] == IpConstants.ProtocolTcp)
        {
            ipHeaderLength = IpConstants.Ipv4HeaderLength;
        }
        else if (version == 6 && packet.Length >= 60 && packet[6] == IpConstants.ProtocolTcp)
        {
            ipHeaderLength = IpConstants.Ipv6HeaderLength;
        }
        else
        {
            return -1;
        }

        for (int i = 0; i < MaxFlows; i++)
        {
            ref var f = ref _flows[i];
            if (!f.Active || f.IpHeaderLength != ipHeaderLength)
            {
                continue;
            }

            var held = _buffers[i].AsSpan(_headroom, ipHeaderLength + 4);
            var addresses = ipHeaderLength == IpConstants.Ipv4HeaderLength ? 12..20 : 8..40;
            if (held[addresses].SequenceEqual(packet[addresses]) && held.Slice(ipHeaderLength, 4).SequenceEqual(packet.Slice(ipHeaderLength, 4)))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>TCP data that may merge: IP without options or fragments, lengths consistent, only ACK/PSH, payload, valid checksums (TCP, and IPv4's header).</summary>
    private static bool IsCandidate(ReadOnlySpan<byte> packet, out int ipHeaderLength, out int tcpHeaderLength)
    {
        if (!TcpSegmentation.TryParse(packet, out ipHeaderLength, out tcpHeaderLength))
        {
            return false;
        }

        var tcp = packet[ipHeaderLength..];
        if ((tcp[13] & ~Psh) != Ack || packet.Length == ipHeaderLength + tcpHeaderLength)
        {
            return false;
        }

        if (ipHeaderLength == IpConstants.Ipv4HeaderLength && InternetChecksum.Compute(packet[..IpConstants.Ipv4HeaderLength]) != 0)
        {
            return false; // a bad IPv4 header checksum: merged, it would be recomputed and the kernel would accept what it drops
        }

        ulong sum = ipHeaderLength == IpConstants.Ipv4HeaderLength
            ? InternetChecksum.PseudoHeader(packet.Slice(12, 4), packet.Slice(16, 4), IpConstants.ProtocolTcp, tcp.Length)
            : InternetChecksum.PseudoHeader(packet.Slice(8, 16), packet.Slice(24, 16), IpConstants.ProtocolTcp, tcp.Length);
        return InternetChecksum.Fold(InternetChecksum.Add(sum, tcp)) == 0xFFFF;
    }
}
