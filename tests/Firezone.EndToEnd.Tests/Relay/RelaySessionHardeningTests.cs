using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Firezone.Connlib.Relay;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;
using Firezone.Tun.Io;

namespace Firezone.EndToEnd.Tests.Relay;

/// <summary>
/// The relay session's sockets honour the configured addresses per family, taken ports are retried, metrics come
/// from the host's meter factory, drops are counted, and GRO trains from a client are forwarded segment by segment.
/// </summary>
public sealed class RelaySessionHardeningTests
{
    private const string Secret = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

    private static RelaySession Session(IPAddress? v4, IPAddress? v6, IReadOnlyList<IPAddress> listen, int lowest, int highest, IMeterFactory? meters = null) =>
        new(new RelaySessionOptions
        {
            Server = new TurnServerOptions
            {
                PublicIPv4 = v4,
                PublicIPv6 = v6,
                ListenPort = 0,
                LowestPort = lowest,
                HighestPort = highest,
                AuthSecret = Secret,
            },
            ListenAddresses = listen,
            ListenerThreads = 2,
            MeterFactory = meters,
        });

    /// <summary>The local addresses of UDP sockets on <paramref name="port"/> as /proc/net/udp and udp6 list them.</summary>
    private static List<string> BoundAddresses(int port)
    {
        string hexPort = port.ToString("X4", CultureInfo.InvariantCulture);
        var result = new List<string>();
        foreach (var (file, v6) in new[] { ("/proc/net/udp", false), ("/proc/net/udp6", true) })
        {
            if (!File.Exists(file))
            {
                continue;
            }

            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var local = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1].Split(':');
                if (local[1] == hexPort)
                {
                    result.Add(Decode(local[0], v6));
                }
            }
        }

        return result;
    }

    private static string Decode(string hex, bool v6)
    {
        // /proc prints each 32-bit word of the address in host byte order (little-endian here).
        var bytes = Convert.FromHexString(hex);
        for (int i = 0; i < bytes.Length; i += 4)
        {
            Array.Reverse(bytes, i, 4);
        }

        return new IPAddress(bytes).ToString() + (v6 ? "/6" : "/4");
    }

    [Fact]
    public async Task A_family_without_a_listen_address_gets_no_sockets_and_no_relayed_addresses()
    {
        int port = Loopback.FreeUdpPort();
        await using var session = Session(IPAddress.Loopback, IPAddress.IPv6Loopback, [IPAddress.Loopback], port, port);
        session.Start();
        Assert.Null(session.PublicIPv6);
        var listen = Assert.Single(session.ListenEndPoints);
        Assert.Equal(IPAddress.Loopback, listen.Address);
        Assert.DoesNotContain(BoundAddresses(listen.Port), a => a.EndsWith("/6", StringComparison.Ordinal));

        using var client = new LoopbackTurnClient(listen, Secret);
        Assert.Equal(StunErrorCode.AddressFamilyNotSupported, client.Allocate(StunAddressFamily.IPv6).Error);
        var (relayed, error) = client.Allocate(additionalIPv6: true);
        Assert.Equal(0, error);
        Assert.Equal([new IPEndPoint(IPAddress.Loopback, port)], relayed); // partial: IPv4 only
        Assert.Equal(["127.0.0.1/4"], BoundAddresses(port)); // not 0.0.0.0, and no IPv6 socket
    }

    [Fact]
    public async Task Each_family_binds_its_own_listen_address()
    {
        Assert.SkipUnless(Loopback.Has(AddressFamily.InterNetworkV6), "no IPv6 loopback on this machine");
        int port = Loopback.FreeUdpPort();
        await using var session = Session(IPAddress.Loopback, IPAddress.IPv6Loopback, [IPAddress.Loopback, IPAddress.IPv6Loopback], port, port);
        session.Start();
        Assert.Equal(2, session.ListenEndPoints.Count);
        using var client = new LoopbackTurnClient(session.ListenEndPoints.Single(e => e.AddressFamily == AddressFamily.InterNetworkV6), Secret);
        var (relayed, error) = client.Allocate(additionalIPv6: true);
        Assert.Equal(0, error);
        Assert.Equal([new IPEndPoint(IPAddress.Loopback, port), new IPEndPoint(IPAddress.IPv6Loopback, port)], relayed);
        Assert.Equal(["127.0.0.1/4", "::1/6"], BoundAddresses(port).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Two_listen_addresses_of_one_family_are_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => Session(IPAddress.Loopback, null, [IPAddress.Loopback, IPAddress.Parse("127.0.0.2")], 50000, 50001));
        Assert.Contains("one listen address per family", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_taken_by_another_program_is_retried_on_a_free_port_of_the_range()
    {
        var (lowest, highest) = Loopback.FreeUdpRange(8);
        var squatters = new List<Socket>();
        try
        {
            for (int p = lowest; p < highest; p++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                s.Bind(new IPEndPoint(IPAddress.Loopback, p));
                squatters.Add(s);
            }

            await using var session = Session(IPAddress.Loopback, null, [IPAddress.Loopback], lowest, highest);
            session.Start();
            using var client = new LoopbackTurnClient(session.ListenEndPoints[0], Secret);
            var (relayed, error) = client.Allocate();
            Assert.Equal(0, error);
            Assert.Equal(new IPEndPoint(IPAddress.Loopback, highest), Assert.Single(relayed)); // the only free port

            using var second = new LoopbackTurnClient(session.ListenEndPoints[0], Secret, "looptest02");
            Assert.Equal(StunErrorCode.InsufficientCapacity, second.Allocate().Error);
        }
        finally
        {
            squatters.ForEach(s => s.Dispose());
        }
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        public List<Meter> Meters { get; } = new();

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options);
            Meters.Add(meter);
            return meter;
        }

        public void Dispose() => Meters.ForEach(m => m.Dispose());
    }

    [Fact]
    public async Task Metrics_come_from_the_hosts_meter_factory_and_count_relayed_and_dropped_datagrams()
    {
        using var factory = new TestMeterFactory();
        int port = Loopback.FreeUdpPort();
        await using var session = Session(IPAddress.Loopback, null, [IPAddress.Loopback], port, port, factory);
        session.Start();
        var meter = Assert.Single(factory.Meters);
        Assert.Equal("relay", meter.Name);

        using var client = new LoopbackTurnClient(session.ListenEndPoints[0], Secret);
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        peer.ReceiveTimeout = 3000;
        Assert.Equal(0, client.Allocate().Error);
        Assert.Equal(0, client.ChannelBind(0x4001, (IPEndPoint)peer.LocalEndPoint!));
        client.Socket.Send(ChannelData.Encode(0x4001, "ping"u8));
        Assert.Equal(4, peer.Receive(new byte[64]));
        client.Socket.Send(ChannelData.Encode(0x4002, "lost"u8)); // not bound: dropped and counted

        var measurements = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string key = instrument.Name + string.Concat(tags.ToArray().Select(t => $"|{t.Key}={t.Value}"));
            lock (measurements)
            {
                measurements[key] = measurements.GetValueOrDefault(key) + value;
            }
        });
        listener.Start();
        for (int i = 0; i < 100; i++) // the drop is counted by a data-path thread, possibly after we look
        {
            lock (measurements)
            {
                measurements.Clear();
            }

            listener.RecordObservableInstruments();
            if (measurements.GetValueOrDefault("packets_dropped_total|reason=unknown_channel") > 0)
            {
                break;
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.Equal(1, measurements["allocations_total"]);
        Assert.Equal(4, measurements["data_relayed_bytes"]);
        Assert.Equal(1, measurements["packets_relayed_total|direction=client_to_peer"]);
        Assert.Equal(1, measurements["packets_dropped_total|reason=unknown_channel"]);
    }

    [Fact]
    public async Task Permitted_peers_reach_the_client_as_data_indications_and_unknown_peers_are_dropped_on_the_data_path()
    {
        int port = Loopback.FreeUdpPort();
        await using var session = Session(IPAddress.Loopback, null, [IPAddress.Loopback], port, port);
        session.Start();
        using var client = new LoopbackTurnClient(session.ListenEndPoints[0], Secret);
        using var permitted = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        permitted.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        stranger.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
        var (relayed, error) = client.Allocate();
        Assert.Equal(0, error);
        Assert.Equal(0, client.CreatePermission((IPEndPoint)permitted.LocalEndPoint!));

        for (int i = 0; i < 100; i++)
        {
            stranger.SendTo(new byte[] { 1, 2, 3 }, relayed[0]); // no permission for 127.0.0.2: never reaches the client
        }

        permitted.SendTo("data"u8.ToArray(), relayed[0]);
        var buffer = new byte[2048];
        int n = client.Socket.Receive(buffer);
        Assert.True(StunMessage.TryParse(buffer.AsSpan(0, n), out var indication, out _));
        Assert.Equal((StunMethod.Data, StunClass.Indication), (indication.Method, indication.Class));
        Assert.True(indication.TryGetData(out var data));
        Assert.Equal("data"u8.ToArray(), data.ToArray());
        Assert.True(indication.TryGetXorPeerAddress(out var from));
        Assert.Equal(permitted.LocalEndPoint, from);
        client.Socket.ReceiveTimeout = 300;
        Assert.Throws<SocketException>(() => client.Socket.Receive(buffer)); // nothing from the stranger
    }

    [Fact]
    public async Task A_gro_train_of_channel_data_from_one_client_reaches_the_peer_datagram_by_datagram()
    {
        Assert.SkipUnless(LibC.IsSupported, "needs Linux (UDP GSO/GRO)");
        int port = Loopback.FreeUdpPort();
        await using var session = Session(IPAddress.Loopback, null, [IPAddress.Loopback], port, port);
        session.Start();
        using var client = new LoopbackTurnClient(session.ListenEndPoints[0], Secret);
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        peer.ReceiveTimeout = 3000;
        Assert.Equal(0, client.Allocate().Error);
        Assert.Equal(0, client.ChannelBind(0x4003, (IPEndPoint)peer.LocalEndPoint!));

        // 20 frames of 104 bytes in one GSO send: the relay's listener (GRO on) may get them as one buffer.
        var train = GC.AllocateUninitializedArray<byte>(20 * 104, pinned: true);
        for (int i = 0; i < 20; i++)
        {
            var payload = Enumerable.Repeat((byte)i, 100).ToArray();
            ChannelData.Encode(0x4003, payload).CopyTo(train, i * 104);
        }

        using var send = new UdpSendBatch();
        send.BeginMessage(session.ListenEndPoints[0].Serialize(), segmentSize: 104);
        send.Append(train, 0, train.Length);
        Assert.Equal(1, send.Flush(client.Socket).Sent);
        var buffer = new byte[2048];
        for (int i = 0; i < 20; i++)
        {
            int n = peer.Receive(buffer);
            Assert.Equal(100, n);
            Assert.All(buffer[..n], b => Assert.Equal((byte)i, b));
        }
    }
}
