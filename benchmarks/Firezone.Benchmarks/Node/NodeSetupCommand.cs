using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Firezone.Benchmarks.RelayLoad;
using Firezone.Snownet;
using Firezone.Snownet.Turn;

namespace Firezone.Benchmarks.Node;

/// <summary>
/// <c>node-setup</c>: connection setup over loopback in wall-clock time. Starts our relay host (Release build), then
/// 20 times (after 2 warm-ups): a fresh client and gateway Node, each with its own UDP socket on 127.0.0.1, driven by
/// one thread; both get the relay and run until their allocations are up (a real client has them before it connects); then the clock starts, the offer and answer
/// go across in memory (an instant portal), the client sends its first IP packet as soon as the answer is accepted,
/// and the clock stops when that packet comes out of the gateway's Decapsulate (and, separately, when both sides report
/// ConnectionEstablished). Direct and relayed (a firewall in the driver admits only the relay's datagrams). Prints the
/// median and max of each (target: median ≤ 100 ms).
/// Run: <c>dotnet run -c Release --project benchmarks/Firezone.Benchmarks -- node-setup [--runs 20]</c>.
/// </summary>
public static class NodeSetupCommand
{
    private static readonly ConnectionId GatewayId = new(Guid.Parse("00000000-0000-0000-0000-0000000000aa"));
    private static readonly ConnectionId ClientId = new(Guid.Parse("00000000-0000-0000-0000-0000000000cc"));

    /// <summary>Runs the measurement and prints the figures.</summary>
    public static int Run(string[] args)
    {
        int runs = RelayLoadCommand.Get(args, "--runs", 20);
        string? host = RelayLoadCommand.FindRelayHost();
        if (host is null)
        {
            Console.WriteLine("node-setup: samples/Firezone.Relay Release build not found (dotnet build -c Release samples/Firezone.Relay)");
            return 1;
        }

        int port = RelayLoadCommand.FreeUdpPort();
        var (lowest, highest) = RelayLoadCommand.FreeUdpRange(512); // every run leaves two allocations behind until they expire
        string Str(int v) => v.ToString(CultureInfo.InvariantCulture);
        using var relayProcess = RelayLoadCommand.Start("dotnet",
        [
            host, "--public-ip4-addr", "127.0.0.1", "--listen-address", "127.0.0.1", "--listen-port", Str(port),
            "--lowest-port", Str(lowest), "--highest-port", Str(highest), "--stamp-secret", RelayLoadCommand.Secret,
            "--health-check-addr", "127.0.0.1:0", "--log-format", "json",
        ]);
        try
        {
            var relay = new IPEndPoint(IPAddress.Loopback, port);
            RelayLoadCommand.WaitForBinding(relay, "firezone-relay");
            Console.WriteLine($"node-setup over loopback: {runs} runs after 2 warm-ups, our relay host (pid {relayProcess.Id}), {Environment.ProcessorCount} CPUs");
            foreach (bool relayed in new[] { false, true })
            {
                var first = new List<double>();
                var established = new List<double>();
                for (int i = 0; i < runs + 2; i++)
                {
                    var (packet, both) = Once(relay, relayed);
                    if (i >= 2)
                    {
                        first.Add(packet.TotalMilliseconds);
                        established.Add(both.TotalMilliseconds);
                    }
                }

                first.Sort();
                established.Sort();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {(relayed ? "relayed" : "direct "),-7}: first packet median {first[first.Count / 2]:F1} ms (max {first[^1]:F1}); both established median {established[established.Count / 2]:F1} ms (max {established[^1]:F1}); target median <= 100 ms"));
            }

            return 0;
        }
        finally
        {
            relayProcess.Kill(entireProcessTree: true);
        }
    }

    private static TurnRelay Relay(IPEndPoint relay)
    {
        ulong expiry = (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600;
        return new TurnRelay(new RelayId(Guid.NewGuid()), relay, null,
            FirezoneCredentials.MakeUsername(expiry, "nodesetup1"), FirezoneCredentials.ComputePassword(RelayLoadCommand.Secret, expiry, "nodesetup1"));
    }

    /// <summary>One setup: (time to the first packet at the gateway, time until both sides are established).</summary>
    private static (TimeSpan FirstPacket, TimeSpan Established) Once(IPEndPoint relay, bool relayed)
    {
        long start = Stopwatch.GetTimestamp();
        TimeSpan Now() => Stopwatch.GetElapsedTime(start);
        using var client = new Side(new ClientNode(RandomNumberGenerator.GetBytes(32), Now(), DateTimeOffset.UtcNow), relayed ? relay : null);
        using var gateway = new Side(new ServerNode(RandomNumberGenerator.GetBytes(32), Now(), DateTimeOffset.UtcNow), relayed ? relay : null);
        client.Other = (gateway, ClientId);
        gateway.Other = (client, GatewayId);
        var turn = Relay(relay);
        client.Node.UpdateRelays([], [turn], Now());
        gateway.Node.UpdateRelays([], [turn], Now());

        Pump([client, gateway], Now, () => client.Node.AllocationOf(turn.Id)?.HasAllocation == true && gateway.Node.AllocationOf(turn.Id)?.HasAllocation == true,
            TimeSpan.FromSeconds(5), "allocations");

        var clock = Stopwatch.StartNew();
        var clientNode = (ClientNode)client.Node;
        var offer = clientNode.NewConnection(GatewayId, Now(), Now());
        var answer = ((ServerNode)gateway.Node).AcceptConnection(ClientId, offer, client.Node.PublicKey.Span, Now());
        clientNode.AcceptAnswer(GatewayId, gateway.Node.PublicKey.Span, answer, Now());
        client.Connected = gateway.Connected = true;
        var packet = new byte[100];
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), 100);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(28), 0xF1257);
        client.Send(GatewayId, packet, Now());
        TimeSpan? firstPacket = null, both = null;
        Pump([client, gateway], Now, () =>
        {
            if (firstPacket is null && gateway.ReceivedPacket)
            {
                firstPacket = clock.Elapsed;
            }

            if (both is null && client.Established && gateway.Established)
            {
                both = clock.Elapsed;
            }

            return firstPacket is not null && both is not null;
        }, TimeSpan.FromSeconds(10), relayed ? "relayed setup" : "direct setup");
        return (firstPacket!.Value, both!.Value);
    }

    private static void Pump(Side[] sides, Func<TimeSpan> now, Func<bool> done, TimeSpan limit, string what)
    {
        var deadline = Stopwatch.StartNew();
        var readable = new List<Socket>(2);
        while (true)
        {
            var t = now();
            foreach (var side in sides)
            {
                side.Drain(t); // events first, so done() sees what the last datagram did
            }

            if (done())
            {
                return;
            }

            if (deadline.Elapsed > limit)
            {
                throw new InvalidOperationException($"node-setup: {what} did not finish within {limit}");
            }

            var wait = TimeSpan.FromMilliseconds(10);
            foreach (var side in sides)
            {
                if (side.Node.PollTimeout() is { } due)
                {
                    var until = due - t;
                    wait = until < wait ? until : wait;
                }
            }

            if (wait <= TimeSpan.Zero)
            {
                foreach (var side in sides)
                {
                    if (side.Node.PollTimeout() is { } due && due <= t)
                    {
                        side.Node.HandleTimeout(t);
                    }
                }

                continue;
            }

            readable.Clear();
            foreach (var side in sides)
            {
                readable.Add(side.Socket);
            }

            Socket.Select(readable, null, null, (int)Math.Max(1, wait.TotalMicroseconds));
            foreach (var socket in readable)
            {
                sides.First(s => s.Socket == socket).Receive(now());
            }
        }
    }

    /// <summary>One node, its socket on 127.0.0.1 (destination addresses from IP_PKTINFO), and an optional firewall.</summary>
    private sealed class Side : IDisposable
    {
        private readonly IPEndPoint? _onlyFrom;
        private readonly byte[] _receive = new byte[65536];
        private readonly byte[] _buffer = new byte[Firezone.Snownet.Node.BufferSize];
        private readonly int _port;

        public Side(Firezone.Snownet.Node node, IPEndPoint? onlyFrom)
        {
            Node = node;
            _onlyFrom = onlyFrom;
            Socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            Socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);
            Socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _port = ((IPEndPoint)Socket.LocalEndPoint!).Port;
        }

        public Firezone.Snownet.Node Node { get; }

        public Socket Socket { get; }

        public (Side Side, ConnectionId Connection) Other { get; set; }

        public bool Connected { get; set; }

        public bool Established { get; private set; }

        public bool ReceivedPacket { get; private set; }

        public void Send(ConnectionId connection, byte[] packet, TimeSpan now)
        {
            var e = Node.Encapsulate(connection, packet, _buffer, now);
            if (e.Status == EncapsulateStatus.Send)
            {
                SendTo(e.Destination!, _buffer.AsSpan(e.Offset, e.Length));
            }
            else
            {
                Node.HandleTimeout(now);
            }
        }

        public void Receive(TimeSpan now)
        {
            while (Socket.Available > 0)
            {
                EndPoint remote = new IPEndPoint(IPAddress.Any, 0);
                var flags = SocketFlags.None;
                int n;
                IPPacketInformation info;
                try
                {
                    n = Socket.ReceiveMessageFrom(_receive, ref flags, ref remote, out info);
                }
                catch (SocketException)
                {
                    continue; // an ICMP error reported on this call
                }

                var from = (IPEndPoint)remote;
                if ((_onlyFrom is { } only && !from.Equals(only)) || n > Firezone.Snownet.Node.BufferSize)
                {
                    continue;
                }

                var r = Node.Decapsulate(_receive.AsSpan(0, n), from, new IPEndPoint(info.Address, _port), _buffer, now);
                if (r.Status == DecapsulateStatus.Packet)
                {
                    ReceivedPacket = true;
                }
                else
                {
                    Node.HandleTimeout(now);
                }
            }
        }

        public void Drain(TimeSpan now)
        {
            while (Node.PollTransmit() is { } t)
            {
                SendTo(t.Destination, t.Payload.Span);
            }

            while (Node.PollEvent() is { } e)
            {
                switch (e)
                {
                    case NewIceCandidate c when Connected:
                        Other.Side.Node.AddRemoteCandidate(Other.Connection, c.Candidate, now);
                        Other.Side.Node.HandleTimeout(now);
                        break;
                    case ConnectionEstablished:
                        Established = true;
                        break;
                    case ConnectionFailed f:
                        throw new InvalidOperationException($"node-setup: connection failed ({f})");
                }
            }
        }

        private void SendTo(IPEndPoint destination, ReadOnlySpan<byte> datagram)
        {
            if (destination.AddressFamily != AddressFamily.InterNetwork)
            {
                return;
            }

            try
            {
                Socket.SendTo(datagram, SocketFlags.None, destination);
            }
            catch (SocketException)
            {
            }
        }

        public void Dispose()
        {
            Socket.Dispose();
            Node.Dispose();
        }
    }
}
