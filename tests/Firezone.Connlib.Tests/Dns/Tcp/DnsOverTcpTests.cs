using System.Buffers.Binary;
using System.Net;
using Firezone.Connlib.Dns.Tcp;
using Firezone.Connlib.Tcp;

namespace Firezone.Connlib.Tests.Dns.Tcp;

/// <summary>The DNS-over-TCP server and client glue (tunnel spec §4.3, §4.7; RFC 7766 framing and pipelining).</summary>
public sealed class DnsOverTcpTests
{
    private static readonly TcpEndpoint Sentinel = TcpEndpoint.From(IPAddress.Parse("198.18.111.1"), 53);
    private static readonly TcpEndpoint Sentinel2 = TcpEndpoint.From(IPAddress.Parse("198.18.111.2"), 53);
    private static readonly IPAddress App = IPAddress.Parse("198.18.0.1");
    private readonly byte[] _buf = new byte[1400];
    private TimeSpan _now;

    private static Action<Span<byte>> Rng(int seed) { var r = new Random(seed); return b => r.NextBytes(b); }

    /// <summary>A fake DNS message: id, then a body (the glue reads nothing else).</summary>
    private static byte[] Message(ushort id, int bodyLength = 30, byte fill = 0)
    {
        byte[] m = new byte[2 + bodyLength];
        BinaryPrimitives.WriteUInt16BigEndian(m, id);
        m.AsSpan(2).Fill(fill == 0 ? (byte)id : fill);
        return m;
    }

    private static byte[] Frame(byte[] m)
    {
        byte[] f = new byte[m.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(f, (ushort)m.Length);
        m.CopyTo(f, 2);
        return f;
    }

    /// <summary>Moves packets both ways until quiet.</summary>
    private void Shuttle(TcpSocketSet app, DnsOverTcpServer server)
    {
        for (int round = 0; round < 10_000; round++)
        {
            bool any = false;
            int n;
            while ((n = app.PollTransmit(_buf)) > 0) { Assert.True(server.HandleInput(_buf.AsSpan(0, n), _now)); any = true; }
            while ((n = server.PollTransmit(_buf)) > 0) { app.HandleInput(_buf.AsSpan(0, n), _now); any = true; }
            if (!any) return;
        }
    }

    private void Shuttle(DnsOverTcpClient client, DnsOverTcpServer server, Func<DnsTcpQuery, byte[]?>? answer = null)
    {
        for (int round = 0; round < 10_000; round++)
        {
            bool any = false;
            int n;
            while ((n = client.PollTransmit(_buf)) > 0) { server.HandleInput(_buf.AsSpan(0, n), _now); any = true; }
            while ((n = server.PollTransmit(_buf)) > 0) { Assert.True(client.HandleInput(_buf.AsSpan(0, n), _now)); any = true; }
            while (server.TryPollQuery(out var q))
            {
                if ((answer ?? Echo)(q) is { } r) server.SendResponse(q.Handle, r);
                any = true;
            }
            if (!any) return;
        }
    }

    private static byte[] Echo(DnsTcpQuery q) { byte[] r = q.Message.ToArray(); r[^1] ^= 0xFF; return r; }

    private static List<byte> ReadAll(TcpSocketSet app, TcpSocketHandle h)
    {
        var got = new List<byte>();
        byte[] b = new byte[70000];
        while (app.Receive(h, b, out int n) == TcpResult.Ok && n > 0) got.AddRange(b.AsSpan(0, n));
        return got;
    }

    private (TcpSocketSet App, DnsOverTcpServer Server, TcpSocketHandle H) ConnectedApp()
    {
        var server = new DnsOverTcpServer(Rng(1));
        server.SetListenEndpoints([Sentinel]);
        var app = new TcpSocketSet(new TcpOptions(), Rng(2));
        var h = app.Connect(TcpEndpoint.From(App, 0), Sentinel, _now)!.Value;
        Shuttle(app, server);
        Assert.Equal(TcpState.Established, app.GetState(h));
        return (app, server, h);
    }

    [Fact]
    public void Rfc7766_several_pipelined_queries_on_one_connection_are_all_yielded_and_answered_out_of_order()
    {
        var (app, server, h) = ConnectedApp();
        byte[] stream = [.. Frame(Message(1)), .. Frame(Message(2)), .. Frame(Message(3, 500))];
        app.Send(h, stream, out _);
        Shuttle(app, server);
        var queries = new List<DnsTcpQuery>();
        while (server.TryPollQuery(out var q)) queries.Add(q);
        Assert.Equal([1, 2, 3], queries.Select(q => (int)q.Handle.QueryId));
        Assert.Equal(Message(3, 500), queries[2].Message);
        Assert.All(queries, q => Assert.Equal(queries[0].Handle.Socket, q.Handle.Socket));
        foreach (var q in queries.AsEnumerable().Reverse()) Assert.True(server.SendResponse(q.Handle, Message(q.Handle.QueryId, 10, 0xAA)));
        Shuttle(app, server);
        Assert.Equal([.. Frame(Message(3, 10, 0xAA)), .. Frame(Message(2, 10, 0xAA)), .. Frame(Message(1, 10, 0xAA))], ReadAll(app, h));
    }

    [Fact]
    public void Rfc7766_8_framing_split_across_segments_one_byte_each_and_several_messages_in_one_segment()
    {
        var (app, server, h) = ConnectedApp();
        byte[] big = Message(7, 3000);
        foreach (byte b in Frame(big))
        {
            app.Send(h, [b], out _);
            Shuttle(app, server); // one byte per segment
        }
        Assert.True(server.TryPollQuery(out var q));
        Assert.Equal(big, q.Message);
        Assert.False(server.TryPollQuery(out _));
        Assert.True(server.SendResponse(q.Handle, Message(7, 2)));
        Shuttle(app, server);
        Assert.Equal(Frame(Message(7, 2)), ReadAll(app, h));
    }

    [Fact]
    public void Eleventh_concurrent_client_of_a_sentinel_is_refused_with_rst_while_another_sentinel_still_accepts()
    {
        var server = new DnsOverTcpServer(Rng(1));
        server.SetListenEndpoints([Sentinel, Sentinel2]);
        var app = new TcpSocketSet(new TcpOptions(), Rng(2));
        var handles = Enumerable.Range(0, 11).Select(_ => app.Connect(TcpEndpoint.From(App, 0), Sentinel, _now)!.Value).ToList();
        var other = app.Connect(TcpEndpoint.From(App, 0), Sentinel2, _now)!.Value;
        Shuttle(app, server);
        var events = new List<TcpEvent>();
        while (app.TryPollEvent(out var e)) events.Add(e);
        Assert.Equal(10, events.Count(e => e.Kind == TcpEventKind.Connected && e.Tuple.Remote == Sentinel));
        Assert.Single(events, e => e.Kind == TcpEventKind.Reset);
        Assert.Contains(events, e => e.Kind == TcpEventKind.Connected && e.Handle == other);
        Assert.Equal(11, server.ConnectionCount);

        // One client leaves: the next one gets in.
        var first = events.First(e => e.Kind == TcpEventKind.Connected).Handle;
        app.Close(first);
        Shuttle(app, server);
        var late = app.Connect(TcpEndpoint.From(App, 0), Sentinel, _now)!.Value;
        Shuttle(app, server);
        Assert.Equal(TcpState.Established, app.GetState(late));
    }

    [Fact]
    public void Client_half_close_is_answered_then_the_server_closes()
    {
        var (app, server, h) = ConnectedApp();
        app.Send(h, Frame(Message(9)), out _);
        app.Close(h);
        Shuttle(app, server);
        Assert.True(server.TryPollQuery(out var q));
        Assert.True(server.SendResponse(q.Handle, Message(9, 4)));
        Shuttle(app, server);
        Assert.Equal(Frame(Message(9, 4)), ReadAll(app, h));
        Assert.Equal(TcpResult.EndOfStream, app.Receive(h, new byte[1], out _));
        Assert.Equal(0, server.ConnectionCount);
    }

    [Fact]
    public void Server_reinitialisation_aborts_connections_of_removed_sentinels_and_keeps_the_others()
    {
        var server = new DnsOverTcpServer(Rng(1));
        server.SetListenEndpoints([Sentinel, Sentinel2]);
        var app = new TcpSocketSet(new TcpOptions(), Rng(2));
        var a = app.Connect(TcpEndpoint.From(App, 0), Sentinel, _now)!.Value;
        var b = app.Connect(TcpEndpoint.From(App, 0), Sentinel2, _now)!.Value;
        Shuttle(app, server);
        server.SetListenEndpoints([Sentinel2]);
        Shuttle(app, server);
        Assert.Equal(TcpState.Closed, app.GetState(a)); // reset
        Assert.Equal(TcpState.Established, app.GetState(b));
        Assert.False(server.Accepts(BuildSynTo(Sentinel)));
        Assert.True(server.Accepts(BuildSynTo(Sentinel2)));
        Assert.False(server.Accepts(BuildSynTo(Sentinel2.WithPort(54)))); // exact endpoints only, as upstream
    }

    private static byte[] BuildSynTo(TcpEndpoint to)
    {
        byte[] p = new byte[100];
        Span<byte> d = stackalloc byte[4];
        to.WriteAddress(d);
        int n = Firezone.Tun.Packets.PacketBuilder.TcpFromAddressBytes(p, App.GetAddressBytes(), d, 50000, to.Port, 1, 0, Firezone.Tun.Packets.TcpSegment.FlagSyn, 1000, 0, default);
        return p[..n];
    }

    private (DnsOverTcpClient Client, DnsOverTcpServer Server) ClientAndServer()
    {
        var server = new DnsOverTcpServer(Rng(1));
        server.SetListenEndpoints([Sentinel]);
        var client = new DnsOverTcpClient(Rng(3));
        client.Configure(App, null, [Sentinel], _now);
        return (client, server);
    }

    private static List<DnsTcpResult> Results(DnsOverTcpClient c)
    {
        var l = new List<DnsTcpResult>();
        while (c.TryPollResult(out var r)) l.Add(r);
        return l;
    }

    [Fact]
    public void Client_pipelines_queries_on_one_connection_and_matches_answers_by_server_and_query_id()
    {
        var (client, server) = ClientAndServer();
        for (ushort id = 1; id <= 5; id++) Assert.Equal(DnsTcpSendError.None, client.SendQuery(Sentinel, Message(id, 40 * id), _now));
        Assert.Equal(DnsTcpSendError.DuplicateQueryId, client.SendQuery(Sentinel, Message(3), _now));
        Shuttle(client, server);
        var results = Results(client);
        Assert.Equal([1, 2, 3, 4, 5], results.Select(r => (int)r.QueryId).Order());
        Assert.All(results, r => { Assert.Equal(DnsTcpFailure.None, r.Failure); Assert.Equal(Sentinel, r.Server); Assert.Equal(2 + 40 * r.QueryId, r.Response!.Length); });
        Assert.Equal(1, client.ConnectionCount);
        Assert.Equal(1, server.ConnectionCount); // one connection carried all five
    }

    [Fact]
    public void Client_reset_fails_in_flight_queries_and_picks_new_ports()
    {
        var (client, server) = ClientAndServer();
        client.SendQuery(Sentinel, Message(1), _now);
        client.SendQuery(Sentinel, Message(2), _now);
        Shuttle(client, server, answer: _ => null); // the server never answers
        ushort before = client.LocalPort(Sentinel)!.Value;
        client.Reset(_now);
        var failed = Results(client);
        Assert.Equal([1, 2], failed.Select(r => (int)r.QueryId).Order());
        Assert.All(failed, r => Assert.Equal(DnsTcpFailure.Reset, r.Failure));
        Shuttle(client, server);
        Assert.Equal(0, server.ConnectionCount); // the RST reached the server
        Assert.Equal(DnsTcpSendError.None, client.SendQuery(Sentinel, Message(1), _now));
        Assert.NotEqual(before, client.LocalPort(Sentinel)!.Value);
        Shuttle(client, server);
        Assert.Equal(DnsTcpFailure.None, Assert.Single(Results(client)).Failure);
    }

    [Fact]
    public void Client_query_without_answer_times_out_after_5s()
    {
        var (client, server) = ClientAndServer();
        client.SendQuery(Sentinel, Message(1), _now);
        Shuttle(client, server, answer: _ => null);
        _now = TimeSpan.FromSeconds(4.9);
        client.HandleTimeout(_now);
        Assert.Empty(Results(client));
        Assert.Equal(TimeSpan.FromSeconds(5), client.PollTimeout());
        _now = TimeSpan.FromSeconds(5);
        client.HandleTimeout(_now);
        Assert.Equal(DnsTcpFailure.Timeout, Assert.Single(Results(client)).Failure);
    }

    [Fact]
    public void Client_connection_refused_fails_the_query_with_connection_lost()
    {
        var server = new DnsOverTcpServer(Rng(1));
        server.SetListenEndpoints([Sentinel2]); // same address family, another sentinel: Sentinel is not listened on
        var client = new DnsOverTcpClient(Rng(3));
        client.Configure(App, null, [Sentinel], _now);
        client.SendQuery(Sentinel, Message(1), _now);
        var sets = new TcpSocketSet(new TcpOptions(), Rng(4)); // a host with nothing listening
        int n;
        while ((n = client.PollTransmit(_buf)) > 0) sets.HandleInput(_buf.AsSpan(0, n), _now);
        while ((n = sets.PollTransmit(_buf)) > 0) Assert.True(client.HandleInput(_buf.AsSpan(0, n), _now));
        Assert.Equal(DnsTcpFailure.ConnectionLost, Assert.Single(Results(client)).Failure);
    }

    [Fact]
    public void Client_claims_any_tcp_packet_from_a_configured_resolver_socket_to_a_tunnel_ip_only()
    {
        var client = new DnsOverTcpClient(Rng(3));
        client.Configure(App, null, [Sentinel], _now);
        byte[] p = new byte[100];
        int Build(IPAddress from, ushort sport, IPAddress to) => Firezone.Tun.Packets.PacketBuilder.TcpFromAddressBytes(p, from.GetAddressBytes(), to.GetAddressBytes(), sport, 40000, 1, 0, Firezone.Tun.Packets.TcpSegment.FlagAck, 1, 0, default);
        Assert.True(client.Claims(p.AsSpan(0, Build(IPAddress.Parse("198.18.111.1"), 53, App))));
        Assert.False(client.Claims(p.AsSpan(0, Build(IPAddress.Parse("198.18.111.1"), 54, App))));
        Assert.False(client.Claims(p.AsSpan(0, Build(IPAddress.Parse("198.18.111.2"), 53, App))));
        Assert.False(client.Claims(p.AsSpan(0, Build(IPAddress.Parse("198.18.111.1"), 53, IPAddress.Parse("198.18.0.9")))));
    }

    [Fact]
    public void Client_reconfiguration_with_new_source_ips_fails_in_flight_and_same_configuration_is_a_no_op()
    {
        var (client, server) = ClientAndServer();
        client.SendQuery(Sentinel, Message(1), _now);
        client.Configure(App, null, [Sentinel], _now);
        Assert.Empty(Results(client));
        client.Configure(IPAddress.Parse("198.18.0.7"), null, [Sentinel], _now);
        Assert.Equal(DnsTcpFailure.Reset, Assert.Single(Results(client)).Failure);
        Assert.Equal(DnsTcpSendError.UnknownResolver, client.SendQuery(Sentinel2, Message(1), _now));
        var v6Resolver = TcpEndpoint.From(IPAddress.Parse("2001:2::53"), 53);
        client.Configure(App, null, [Sentinel, v6Resolver], _now);
        Assert.Equal(DnsTcpSendError.NoSourceAddress, client.SendQuery(v6Resolver, Message(1), _now)); // no IPv6 tunnel IP
        Assert.Equal(DnsTcpSendError.BadLength, client.SendQuery(Sentinel, [1], _now));
    }

    [Fact]
    public void Client_and_server_over_a_lossy_link_answer_every_query_or_fail_it_never_both()
    {
        var (client, server) = ClientAndServer();
        var rng = new Random(5);
        var link = new List<(byte[] P, bool ToServer, TimeSpan At)>();
        for (ushort id = 1; id <= 50; id++) client.SendQuery(Sentinel, Message(id, rng.Next(10, 4000)), _now);
        var results = new List<DnsTcpResult>();
        for (int step = 0; step < 20_000 && results.Count < 50; step++)
        {
            int n;
            while ((n = client.PollTransmit(_buf)) > 0) if (rng.NextDouble() > 0.2) link.Add((_buf[..n], true, _now + TimeSpan.FromMilliseconds(rng.Next(5, 40))));
            while ((n = server.PollTransmit(_buf)) > 0) if (rng.NextDouble() > 0.2) link.Add((_buf[..n], false, _now + TimeSpan.FromMilliseconds(rng.Next(5, 40))));
            while (server.TryPollQuery(out var q)) server.SendResponse(q.Handle, Echo(q));
            while (client.TryPollResult(out var r)) results.Add(r);
            TimeSpan next = new[] { client.PollTimeout(), server.PollTimeout() }.Concat(link.Select(l => (TimeSpan?)l.At)).Where(t => t is not null).DefaultIfEmpty(_now + TimeSpan.FromSeconds(1)).Min()!.Value;
            if (next > _now) _now = next;
            foreach (var l in link.Where(l => l.At <= _now).ToList())
            {
                link.Remove(l);
                if (l.ToServer) server.HandleInput(l.P, _now); else client.HandleInput(l.P, _now);
            }
            client.HandleTimeout(_now);
            server.HandleTimeout(_now);
        }
        Assert.Equal(50, results.Count);
        Assert.Equal(Enumerable.Range(1, 50), results.Select(r => (int)r.QueryId).Order());
        Assert.All(results.Where(r => r.Failure == DnsTcpFailure.None), r => Assert.Equal(r.QueryId, BinaryPrimitives.ReadUInt16BigEndian(r.Response)));
        Assert.True(results.Count(r => r.Failure == DnsTcpFailure.None) >= 25, $"{results.Count(r => r.Failure == DnsTcpFailure.None)} answered");
    }

    [Fact]
    public void Timers_of_server_and_client_with_open_connections_and_queries_in_flight_allocate_nothing()
    {
        var (client, server) = ClientAndServer();
        client.SendQuery(Sentinel, Message(1), _now);
        client.SendQuery(Sentinel, Message(2), _now);
        Shuttle(client, server, answer: _ => null);
        Assert.Equal(2, client.InFlightCount);
        Assert.Equal(1, server.ConnectionCount);
        void Round(int i)
        {
            TimeSpan now = TimeSpan.FromMilliseconds(i * 0.1);
            client.HandleTimeout(now);
            server.HandleTimeout(now);
            _ = client.PollTimeout();
            _ = server.PollTimeout();
            _ = client.PollTransmit(_buf);
            _ = server.PollTransmit(_buf);
        }
        for (int i = 0; i < 100; i++) Round(i);
        // Four windows of 4,975 rounds (2 s in all: nothing expires yet). A per-round allocation shows in every window; a
        // one-off of the runtime on this thread (seen once in a CI run under full parallel load: 6,400 B) in one at most.
        var windows = new long[4];
        for (int w = 0; w < windows.Length; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 100 + w * 4_975; i < 100 + (w + 1) * 4_975; i++) Round(i);
            windows[w] = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.True(windows.Min() == 0, $"bytes allocated per window: {string.Join(", ", windows)}");
        Assert.Equal(2, client.InFlightCount);
    }
}
