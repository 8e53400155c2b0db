using System.Buffers.Binary;
using System.Net;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Tun.Packets;

namespace Firezone.Tun.Tests.Packets;

/// <summary>
/// TCP segmentation of TUN super-packets (TSO done by hand) and the write-side coalescing (GRO rules), checked against
/// the packet parser's independent checksum verification and by round trips: what the coalescer merges, segmented
/// again as the kernel's GSO would, gives back exactly the segments written, in order, per flow.
/// </summary>
public class TcpOffloadProperties
{
    private const byte Ack = 0x10;
    private const byte Psh = 0x08;
    private const byte Fin = 0x01;
    private const byte Cwr = 0x80;

    /// <summary>One TCP flow's super-packet: family, endpoints, sequence, flags, MSS option or not, payload, segment size.</summary>
    public sealed record Super(bool V4, byte[] Src, byte[] Dst, ushort SrcPort, ushort DstPort, uint Seq, uint AckNo, byte Flags, ushort Mss, byte[] Payload, int GsoSize)
    {
        public byte[] Build() => Build(Seq, Payload, Flags);

        /// <summary>Any size up to 65,535 (PacketBuilder stops at 1280): IPv4 with DF and identification 0x1234, TTL 64.</summary>
        public byte[] Build(uint seq, ReadOnlySpan<byte> payload, byte flags)
        {
            int ip = V4 ? 20 : 40, tcp = Mss != 0 ? 24 : 20, total = ip + tcp + payload.Length;
            var p = new byte[total];
            if (V4)
            {
                p[0] = 0x45;
                BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)total);
                BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), 0x1234);
                p[6] = 0x40;
                p[8] = 64;
                p[9] = IpConstants.ProtocolTcp;
                Src.CopyTo(p, 12);
                Dst.CopyTo(p, 16);
                BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), InternetChecksum.Compute(p.AsSpan(0, 20)));
            }
            else
            {
                p[0] = 0x60;
                BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(total - 40));
                p[6] = IpConstants.ProtocolTcp;
                p[7] = 64;
                Src.CopyTo(p, 8);
                Dst.CopyTo(p, 24);
            }

            var t = p.AsSpan(ip);
            BinaryPrimitives.WriteUInt16BigEndian(t, SrcPort);
            BinaryPrimitives.WriteUInt16BigEndian(t[2..], DstPort);
            BinaryPrimitives.WriteUInt32BigEndian(t[4..], seq);
            BinaryPrimitives.WriteUInt32BigEndian(t[8..], AckNo);
            t[12] = (byte)((tcp / 4) << 4);
            t[13] = flags;
            BinaryPrimitives.WriteUInt16BigEndian(t[14..], 512);
            if (Mss != 0)
            {
                t[20] = 2;
                t[21] = 4;
                BinaryPrimitives.WriteUInt16BigEndian(t[22..], Mss);
            }

            payload.CopyTo(t[tcp..]);
            ulong sum = InternetChecksum.PseudoHeader(Src, Dst, IpConstants.ProtocolTcp, t.Length);
            BinaryPrimitives.WriteUInt16BigEndian(t[16..], InternetChecksum.Finish(InternetChecksum.Add(sum, t)));
            Assert.True(IpPacket.TryParse(p, out var parsed) != IpParseError.None || total > IpConstants.MaxPacketSize || parsed.ChecksumsValid());
            return p;
        }

        public override string ToString() => $"v{(V4 ? 4 : 6)} seq {Seq} flags {Flags:x2} mss-option {Mss} payload {Payload.Length} gso {GsoSize}";
    }

    private static Gen<Super> SuperGen(int maxPayload) =>
        from v4 in Gen.Elements(true, false)
        from src in Gen.ArrayOf(PacketGen.Byte, v4 ? 4 : 16)
        from dst in Gen.ArrayOf(PacketGen.Byte, v4 ? 4 : 16)
        from sp in PacketGen.UShort
        from dp in PacketGen.UShort
        from seq in Gen.Choose(int.MinValue, int.MaxValue).Select(i => unchecked((uint)i))
        from ack in Gen.Choose(int.MinValue, int.MaxValue).Select(i => unchecked((uint)i))
        from extra in Gen.Elements<byte>(0, Psh, Fin, Cwr, Psh | Fin, Cwr | Psh, Cwr | Psh | Fin)
        from mss in Gen.Elements<ushort>(0, 1240)
        from length in Gen.Choose(1, maxPayload)
        from payload in Gen.ArrayOf(PacketGen.Byte, length)
        from gso in Gen.Choose(1, 1200)
        select new Super(v4, src, dst, sp, dp, seq, ack, (byte)(Ack | extra), mss, payload, gso);

    private static List<byte[]> Segment(byte[] super, int gsoSize)
    {
        Assert.True(TcpSegmentation.TryParse(super, out int ip, out int tcp));
        int count = TcpSegmentation.SegmentCount(super.Length, ip + tcp, gsoSize);
        var segments = new List<byte[]>();
        var buffer = new byte[IpConstants.MaxPacketSize + 64];
        for (int i = 0; i < count; i++)
        {
            int n = TcpSegmentation.WriteSegment(super, ip, tcp, gsoSize, i, buffer);
            Assert.True(n > 0);
            segments.Add(buffer[..n]);
        }

        return segments;
    }

    [Property(MaxTest = 200)]
    public Property Segments_of_a_super_packet_carry_its_payload_in_order_with_valid_checksums_consecutive_sequence_numbers_and_ids_FIN_PSH_last_CWR_first() =>
        Prop.ForAll(SuperGen(20_000).ToArbitrary(), s =>
        {
            byte[] super = s.Build();
            var segments = Segment(super, s.GsoSize);
            var payload = new List<byte>();
            for (int i = 0; i < segments.Count; i++)
            {
                Assert.Equal(IpParseError.None, IpPacket.TryParse(segments[i], out var p));
                Assert.True(p.ChecksumsValid(), $"segment {i}");
                Assert.True(p.TryGetTcp(out var t));
                Assert.Equal(s.Seq + (uint)payload.Count, t.SequenceNumber);
                Assert.Equal(s.AckNo, t.AcknowledgementNumber);
                Assert.True(t.Payload.Length <= s.GsoSize && t.Payload.Length > 0);
                bool last = i == segments.Count - 1;
                Assert.Equal(last ? s.Flags & (Fin | Psh) : 0, t.Flags & (Fin | Psh));
                Assert.Equal(i == 0 ? s.Flags & Cwr : 0, t.Flags & Cwr);
                Assert.Equal(super[s.V4 ? 8 : 7], segments[i][s.V4 ? 8 : 7]); // TTL / hop limit kept
                if (s.V4)
                {
                    Assert.Equal((ushort)(BinaryPrimitives.ReadUInt16BigEndian(super.AsSpan(4)) + i), BinaryPrimitives.ReadUInt16BigEndian(segments[i].AsSpan(4)));
                }

                payload.AddRange(t.Payload.ToArray());
            }

            Assert.Equal(s.Payload, payload.ToArray());
        });

    [Property(MaxTest = 200)]
    public Property A_completed_partial_checksum_equals_the_full_checksum() =>
        Prop.ForAll(PacketGen.AnySpecArb, spec =>
        {
            byte[] buffer = new byte[IpConstants.BufferSize];
            int n = spec.Build(buffer);
            var packet = buffer.AsSpan(0, n);
            IpPacket.TryParse(packet, out var p);
            if (!p.TryGetTransportChecksum(out _))
            {
                return;
            }

            // What the kernel hands out with VIRTIO_NET_HDR_F_NEEDS_CSUM: the folded pseudo-header sum in the field.
            int ip = spec.V4 ? 20 : 40;
            byte protocol = spec.V4 ? packet[9] : packet[6];
            int field = protocol switch { IpConstants.ProtocolTcp => 16, IpConstants.ProtocolUdp => 6, _ => -1 };
            if (field < 0)
            {
                return; // ICMP has no pseudo-header
            }

            var src = spec.V4 ? packet.Slice(12, 4) : packet.Slice(8, 16);
            var dst = spec.V4 ? packet.Slice(16, 4) : packet.Slice(24, 16);
            ushort pseudo = InternetChecksum.Fold(InternetChecksum.PseudoHeader(src, dst, protocol, n - ip));
            BinaryPrimitives.WriteUInt16BigEndian(packet[(ip + field)..], pseudo);
            Assert.True(TcpSegmentation.CompleteChecksum(packet, ip, field));
            IpPacket.TryParse(packet, out var completed);
            Assert.True(completed.ChecksumsValid());
        });

    private sealed class RecordingSink : ICoalescedPacketSink
    {
        public List<(byte[] Packet, CoalescedPacket Info)> Written { get; } = [];

        public bool Write(Span<byte> buffer, in CoalescedPacket packet)
        {
            Written.Add((buffer[Headroom..].ToArray(), packet));
            return true;
        }

        public const int Headroom = 10;

        /// <summary>Everything written, merged packets cut apart again with their segment size (what GSO does).</summary>
        public List<byte[]> Resegmented()
        {
            var result = new List<byte[]>();
            foreach (var (packet, info) in Written)
            {
                if (info.Segments == 1)
                {
                    result.Add(packet);
                    continue;
                }

                var segments = Segment(packet, info.SegmentSize);
                Assert.Equal(info.Segments, segments.Count);
                result.AddRange(segments);
            }

            return result;
        }
    }

    private static string Key(byte[] packet) => IpPacket.TryParse(packet, out var p) == IpParseError.None ? $"{p.Source} {p.Destination} {p.Protocol}" + (p.TryGetTcp(out var t) ? $" {t.SourcePort} {t.DestinationPort}" : "") : "?";

    [Property(MaxTest = 150)]
    public Property Merged_packets_segmented_again_give_back_every_written_packet_in_order_per_flow(int seed) =>
        Prop.ForAll(Gen.ListOf(SuperGen(20_000), 3).Select(l => l.ToList()).ToArbitrary(), flows =>
        {
            var random = new Random(seed);
            // Each flow: its super-packet cut into MSS segments (as the sender's TSO would), then interleaved at random
            // with the other flows and with UDP datagrams.
            var queues = flows.Select(f => new Queue<byte[]>(Segment(f.Build(), Math.Min(f.GsoSize, 1200)))).ToList();
            var input = new List<byte[]>();
            while (queues.Any(q => q.Count > 0))
            {
                var q = queues[random.Next(queues.Count)];
                if (q.Count > 0)
                {
                    input.Add(q.Dequeue());
                }

                if (random.Next(8) == 0)
                {
                    var udp = new byte[200];
                    int n = PacketBuilder.Udp(udp, IPAddress.Parse("198.18.0.1"), IPAddress.Parse("198.18.0.2"), 1, 2, new byte[random.Next(1, 100)]);
                    input.Add(udp[..n]);
                }
            }

            var sink = new RecordingSink();
            var coalescer = new TcpCoalescer(RecordingSink.Headroom, sink);
            foreach (var packet in input)
            {
                Assert.True(coalescer.Add(packet));
            }

            Assert.True(coalescer.Flush());
            Assert.False(coalescer.HasPending);
            foreach (var (packet, info) in sink.Written.Where(w => w.Info.Segments > 1))
            {
                Assert.True(packet.Length <= 65_535);
                Assert.True(info.Segments <= TcpCoalescer.MaxSegments);
            }

            var output = sink.Resegmented();
            Assert.Equal(input.Count, output.Count);
            foreach (var group in input.GroupBy(Key))
            {
                var expected = group.ToList();
                var actual = output.Where(o => Key(o) == group.Key).ToList();
                Assert.Equal(expected.Count, actual.Count);
                for (int i = 0; i < expected.Count; i++)
                {
                    Assert.Equal(expected[i], actual[i]); // byte for byte (IDs, checksums, flags included)
                }
            }

            // Whole flows of full-size segments merge: fewer writes than packets whenever a flow had several segments.
            if (flows.Any(f => f.Payload.Length > 2 * Math.Min(f.GsoSize, 1200) && (f.Flags & (Fin | Cwr)) == 0))
            {
                Assert.True(sink.Written.Count < input.Count);
            }
        });

    /// <summary>
    /// Packets written to the TUN come from the remote peer through the tunnel, so the coalescer meets whatever a peer
    /// sends: here every fourth segment of the round-trip property is mutated (bytes flipped anywhere in the headers,
    /// cut short, or a random TCP data offset). Nothing throws, nothing is lost or altered: cut apart again, the output
    /// is the input, packet for packet, in order per flow (unparsable packets form one group).
    /// </summary>
    [Property(MaxTest = 150)]
    public Property Mutated_segments_from_a_peer_never_throw_and_come_out_unchanged_in_order(int seed) =>
        Prop.ForAll(Gen.ListOf(SuperGen(8_000), 2).Select(l => l.ToList()).ToArbitrary(), flows =>
        {
            var random = new Random(seed);
            var input = new List<byte[]>();
            foreach (var segment in flows.SelectMany(f => Segment(f.Build(), Math.Min(f.GsoSize, 1200))))
            {
                var packet = segment;
                switch (random.Next(8))
                {
                    case 0:
                        for (int i = random.Next(1, 4); i > 0; i--)
                        {
                            packet[random.Next(Math.Min(packet.Length, 64))] ^= (byte)random.Next(1, 256);
                        }

                        break;
                    case 1:
                        packet = packet[..random.Next(packet.Length)];
                        break;
                    case 2:
                        int tcp = (packet[0] >> 4) == 4 ? 20 : 40;
                        packet[tcp + 12] = (byte)(random.Next(16) << 4);
                        break;
                }

                input.Add(packet);
            }

            var sink = new RecordingSink();
            var coalescer = new TcpCoalescer(RecordingSink.Headroom, sink);
            foreach (var packet in input)
            {
                coalescer.Add(packet);
            }

            coalescer.Flush();
            Assert.False(coalescer.HasPending);
            var output = sink.Resegmented();
            Assert.Equal(input.Count, output.Count);
            foreach (var group in input.GroupBy(Key))
            {
                var expected = group.ToList();
                var actual = output.Where(o => Key(o) == group.Key).ToList();
                Assert.Equal(expected.Count, actual.Count);
                for (int i = 0; i < expected.Count; i++)
                {
                    Assert.Equal(expected[i], actual[i]);
                }
            }
        });

    [Fact]
    public void Ipv4_segments_with_a_bad_header_checksum_or_without_DF_and_the_wrong_identification_are_written_alone()
    {
        var s = new Super(true, [198, 18, 0, 1], [198, 18, 0, 2], 1000, 2000, 5000, 77, Ack, 0, new byte[3000], 1000);
        var payload = new byte[1000];
        byte[] Segment(uint seq, ushort id, bool df)
        {
            byte[] p = s.Build(seq, payload, Ack);
            p[6] = df ? (byte)0x40 : (byte)0;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
            p[10] = p[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), InternetChecksum.Compute(p.AsSpan(0, 20)));
            return p;
        }

        int Writes(params byte[][] packets)
        {
            var sink = new RecordingSink();
            var coalescer = new TcpCoalescer(RecordingSink.Headroom, sink);
            foreach (var p in packets)
            {
                coalescer.Add(p);
            }

            coalescer.Flush();
            Assert.Equal(packets, sink.Resegmented(), new ByteArrayComparer()); // what the kernel makes of it is what came in
            return sink.Written.Count;
        }

        Assert.Equal(1, Writes(Segment(5000, 7, df: false), Segment(6000, 8, df: false))); // consecutive: one write
        Assert.Equal(2, Writes(Segment(5000, 7, df: false), Segment(6000, 7, df: false))); // the same identification twice
        byte[] corrupt = Segment(6000, 8, df: false);
        corrupt[10] ^= 1; // the header checksum wrong, everything else mergeable
        Assert.Equal(2, Writes(Segment(5000, 7, df: false), corrupt));
    }

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => obj.Length;
    }

    [Fact]
    public void Segments_with_a_sequence_gap_another_acknowledgement_a_bad_checksum_or_SYN_are_written_alone()
    {
        var s = new Super(true, [198, 18, 0, 1], [198, 18, 0, 2], 1000, 2000, 5000, 77, Ack, 0, new byte[3000], 1000);
        var payload = new byte[1000];
        byte[] first = s.Build(5000, payload, Ack);
        byte[] gap = s.Build(7000, payload, Ack); // 6000 expected
        byte[] otherAck = new Super(true, s.Src, s.Dst, 1000, 2000, 0, 78, Ack, 0, [], 0).Build(8000, payload, Ack);
        byte[] badChecksum = s.Build(9000, payload, Ack);
        badChecksum[^1] ^= 0xFF;
        byte[] syn = s.Build(10000, payload, 0x02 | Ack);
        var sink = new RecordingSink();
        var coalescer = new TcpCoalescer(RecordingSink.Headroom, sink);
        foreach (var p in new[] { first, gap, otherAck, badChecksum, syn })
        {
            coalescer.Add(p);
        }

        coalescer.Flush();
        Assert.Equal(5, sink.Written.Count);
        Assert.All(sink.Written, w => Assert.Equal(1, w.Info.Segments));
        Assert.Equal(new[] { first, gap, otherAck, badChecksum, syn }, sink.Written.Select(w => w.Packet));
    }

    [Fact]
    public void Consecutive_full_segments_merge_into_one_packet_with_the_pseudo_header_sum_and_a_short_or_PSH_segment_ends_it()
    {
        var s = new Super(false, new byte[16], new byte[16], 1, 2, uint.MaxValue - 1500, 9, Ack, 0, [], 1000);
        s.Src[0] = 0x20;
        s.Dst[0] = 0x20;
        var full = new byte[1000];
        var sink = new RecordingSink();
        var coalescer = new TcpCoalescer(RecordingSink.Headroom, sink);
        uint seq = s.Seq;
        for (int i = 0; i < 3; i++, seq += 1000)
        {
            coalescer.Add(s.Build(seq, full, Ack)); // the sequence number wraps on the way
        }

        coalescer.Add(s.Build(seq, new byte[10], Ack | Psh)); // short and PSH: joins and releases
        Assert.Single(sink.Written);
        var (packet, info) = sink.Written[0];
        Assert.Equal((4, 40, 20, 1000), (info.Segments, info.IpHeaderLength, info.TcpHeaderLength, info.SegmentSize));
        Assert.Equal(40 + 20 + 3010, packet.Length);
        Assert.Equal(20 + 3010, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(4)));
        ushort pseudo = InternetChecksum.Fold(InternetChecksum.PseudoHeader(packet.AsSpan(8, 16), packet.AsSpan(24, 16), IpConstants.ProtocolTcp, 20 + 3010));
        Assert.Equal(pseudo, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(40 + 16)));
        Assert.Equal(Psh, packet[40 + 13] & Psh);
        Assert.Equal(3, coalescer.Merged);
    }

    private sealed class CountingSink : ICoalescedPacketSink
    {
        public int Writes;

        public bool Write(Span<byte> buffer, in CoalescedPacket packet)
        {
            Writes++;
            return true;
        }
    }

    [Fact]
    public void Segmenting_and_coalescing_allocate_nothing_per_packet()
    {
        var s = new Super(true, [198, 18, 0, 1], [198, 18, 0, 2], 1000, 2000, 1, 2, Ack, 0, new byte[60_000], 1200);
        byte[] super = s.Build();
        Assert.True(TcpSegmentation.TryParse(super, out int ip, out int tcp));
        var segments = Segment(super, 1200);
        var buffer = new byte[1400];
        var sink = new CountingSink();
        var coalescer = new TcpCoalescer(10, sink);
        void Round()
        {
            for (int i = 0; i < segments.Count; i++)
            {
                TcpSegmentation.WriteSegment(super, ip, tcp, 1200, i, buffer);
                coalescer.Add(segments[i]);
            }

            coalescer.Flush();
        }

        Round(); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int r = 0; r < 20; r++)
        {
            Round();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(21, sink.Writes); // 50 segments merged into one packet per round
    }
}
