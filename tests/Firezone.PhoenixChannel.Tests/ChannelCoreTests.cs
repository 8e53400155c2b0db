using System.Text.Json;
using Firezone.PhoenixChannel.Backoff;
using Firezone.PhoenixChannel.Protocol;

namespace Firezone.PhoenixChannel.Tests;

public class ChannelCoreTests
{
    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    private static CoreHarness Connected(string topic = "client")
    {
        var h = new CoreHarness(ReconnectPolicy.Gateway, topic);
        h.Connect();
        h.Succeed();
        return h;
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    [Fact]
    public void Join_is_the_first_frame_on_every_socket_and_refs_come_from_one_counter()
    {
        var h = new CoreHarness(ReconnectPolicy.Gateway, "client");
        var early = h.Core.Send("client", "prepare_connection", "{}"u8); // Queued while disconnected.
        h.Connect();
        h.Succeed();

        Assert.Equal(0ul, early);
        Assert.Equal(2, h.Written.Count);
        Assert.Equal("""{"topic":"client","event":"phx_join","payload":null,"ref":1}""", h.Written[0].Text);
        Assert.Equal("""{"topic":"client","event":"prepare_connection","payload":{},"ref":0}""", h.Written[1].Text);

        h.Drop();
        h.Advance(S(1));
        h.Succeed();
        Assert.Equal("""{"topic":"client","event":"phx_join","payload":null,"ref":2}""", h.Written[2].Text); // Never reset.
    }

    [Fact]
    public void Relay_join_carries_the_stamp_secret()
    {
        var h = Connected("relay");
        Assert.Equal("""{"topic":"relay","event":"phx_join","payload":{"stamp_secret":"00"},"ref":0}""", h.Written[0].Text);
    }

    [Fact]
    public void Heartbeat_goes_out_30s_after_connect_on_topic_phoenix_and_every_30s()
    {
        var h = Connected();
        h.AdvanceTo(S(29.999));
        Assert.DoesNotContain(h.Written, m => m.Kind == OutboundKind.Heartbeat);
        h.AdvanceTo(S(30));
        var hb = Assert.Single(h.Written, m => m.Kind == OutboundKind.Heartbeat);
        Assert.Equal("{\"topic\":\"phoenix\",\"event\":\"heartbeat\",\"payload\":{},\"ref\":" + (hb.Ref) + "}", hb.Text);
        Assert.Single(h.Events.OfType<ChannelEvent.HeartbeatSent>());
        h.AdvanceTo(S(120));
        Assert.Equal(4, h.Written.Count(m => m.Kind == OutboundKind.Heartbeat));
        Assert.Empty(h.Reconnects);
    }

    [Fact]
    public void Only_an_empty_ok_reply_with_the_heartbeat_ref_acknowledges_it()
    {
        var h = Connected();
        h.AutoAckHeartbeats = false;
        h.AdvanceTo(S(30));
        var hb = h.Written.Last();
        h.Receive("{\"topic\":\"phoenix\",\"event\":\"phx_reply\",\"payload\":{\"status\":\"ok\",\"response\":{}},\"ref\":" + (hb.Ref + 100) + "}");
        h.Receive("{\"topic\":\"phoenix\",\"event\":\"phx_reply\",\"payload\":{\"status\":\"ok\",\"response\":{\"x\":1}},\"ref\":" + (hb.Ref) + "}");
        h.AdvanceTo(S(35));
        Assert.Single(h.Reconnects); // Neither counted.

        var ok = Connected();
        ok.AutoAckHeartbeats = false;
        ok.AdvanceTo(S(30));
        var hb2 = ok.Written.Last();
        ok.Advance(S(4.9));
        ok.Receive("{\"ref\":" + (hb2.Ref) + ",\"payload\":{\"response\":{},\"status\":\"ok\"},\"event\":\"phx_reply\",\"topic\":\"phoenix\"}");
        ok.AdvanceTo(S(59));
        Assert.Empty(ok.Reconnects);
    }

    [Fact]
    public void Replies_are_routed_by_ref_and_join_replies_become_JoinedRoom()
    {
        var h = Connected();
        var r = h.Core.Send("client", "prepare_connection", "{}"u8);
        h.Pump();
        h.Receive("""{"topic":"client","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":0}""");
        h.Receive("{\"topic\":\"client\",\"event\":\"phx_reply\",\"payload\":{\"status\":\"ok\",\"response\":{\"gateway_id\":\"g\"}},\"ref\":" + (r) + "}");

        Assert.Equal("client", Assert.Single(h.Events.OfType<ChannelEvent.JoinedRoom>()).Topic);
        Assert.Equal(0, h.Core.PendingJoinCount); // Upstream never forgets this ref; we do.
        var success = Assert.Single(h.Events.OfType<ChannelEvent.SuccessResponse>());
        Assert.Equal(r, success.Ref);
        Assert.Equal("g", success.Response.GetProperty("gateway_id").GetString());
    }

    [Theory]
    [InlineData("unmatched topic", ErrorReason.UnmatchedTopic)]
    [InlineData("not_found", ErrorReason.NotFound)]
    [InlineData("invalid_version", ErrorReason.InvalidVersion)]
    [InlineData("offline", ErrorReason.Offline)]
    [InlineData("disabled", ErrorReason.Disabled)]
    [InlineData("forbidden", ErrorReason.Other)]
    public void Error_replies_to_messages_are_events(string reason, ErrorReason expected)
    {
        var h = Connected();
        var r = h.Core.Send("client", "prepare_connection", "{}"u8);
        h.Receive("{\"topic\":\"client\",\"event\":\"phx_reply\",\"payload\":{\"status\":\"error\",\"response\":{\"reason\":\"" + (reason) + "\",\"violated_properties\":[]}},\"ref\":" + (r) + "}");
        var e = Assert.Single(h.Events.OfType<ChannelEvent.ErrorResponse>());
        Assert.Equal((r, expected, reason), (e.Ref, e.Reason, e.ReasonText));
        Assert.Null(h.Failure);
    }

    [Fact]
    public void Error_reply_to_our_join_is_a_fatal_login_failure_and_not_an_authentication_error()
    {
        var h = Connected();
        h.Receive("""{"topic":"client","event":"phx_reply","payload":{"status":"error","response":{"reason":"token_expired"}},"ref":0}""");
        var f = Assert.IsType<ChannelEvent.Failed>(h.Events.Last()).Error;
        Assert.Equal(PhoenixChannelErrorKind.LoginFailed, f.Kind);
        Assert.Equal(ErrorReason.Other, f.LoginFailure);
        Assert.False(f.IsAuthenticationError);
        Assert.Equal(ChannelState.Failed, h.Core.State);
        Assert.Contains(h.Commands, c => c is DriverCommand.DropSocket);
    }

    [Fact]
    public void Disconnect_token_expired_is_fatal_and_an_authentication_error_other_reasons_are_ignored()
    {
        var h = Connected();
        h.Receive("""{"topic":"client","event":"disconnect","payload":{"reason":"maintenance"},"ref":null}""");
        Assert.Null(h.Failure);
        h.Receive("""{"topic":"anything","event":"disconnect","payload":{"reason":"token_expired"},"ref":null}""");
        var f = Assert.IsType<ChannelEvent.Failed>(h.Events.Last()).Error;
        Assert.Equal(PhoenixChannelErrorKind.TokenExpired, f.Kind);
        Assert.True(f.IsAuthenticationError);
        Assert.Equal("token expired", f.Message);
    }

    [Fact]
    public void Phx_close_reconnects_and_phx_error_is_ignored()
    {
        var h = Connected();
        h.Receive("""{"topic":"client","event":"phx_error","payload":{},"ref":null}""");
        Assert.Empty(h.Reconnects);
        h.Receive("""{"topic":"client","event":"phx_close","payload":{},"ref":null}""");
        Assert.Contains("phx_close", Assert.Single(h.Reconnects).Error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("""{"topic":"client","event":"in""")]
    [InlineData("""{"topic":""")]
    public void Empty_or_truncated_text_reconnects(string text)
    {
        var h = Connected();
        h.Receive(text);
        Assert.Single(h.Reconnects);
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("""{"topic":"client","event":"init","payload":{},"ref":"12"}""")]
    [InlineData("""{"event":"init","payload":{}}""")]
    [InlineData("not json at all")]
    [InlineData("""{"topic":"client","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":null}""")]
    public void Undecodable_frames_are_skipped_without_reconnecting(string text)
    {
        var h = Connected();
        h.Receive(text);
        Assert.Empty(h.Reconnects);
        Assert.DoesNotContain(h.Events, e => e is ChannelEvent.InboundMessage or ChannelEvent.Failed);
    }

    [Fact]
    public void Pushes_are_events_whatever_the_key_order_with_unknown_keys_ignored()
    {
        var h = Connected();
        h.Receive("""{"payload":"0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10","join_ref":null,"ref":null,"event":"resource_deleted","topic":"client","extra":[1]}""");
        var m = Assert.Single(h.Events.OfType<ChannelEvent.InboundMessage>());
        Assert.Equal(("client", "resource_deleted"), (m.Topic, m.Event));
        Assert.Equal("0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10", m.Payload.GetString());
    }

    [Fact]
    public void Send_queue_overflow_drops_only_the_oldest_message_not_the_whole_queue_nor_the_join()
    {
        // Deliberate fix: upstream clears all 33 queued frames (joins included) on the 34th send.
        var h = new CoreHarness(ReconnectPolicy.Gateway, "client");
        h.Core.Join("client", "null"u8);
        var refs = Enumerable.Range(0, 40).Select(i => h.Core.Send("client", "m", System.Text.Encoding.UTF8.GetBytes("{\"i\":" + i + "}"))).ToList();

        Assert.Equal(ChannelCore.MaxBufferedMessages, h.Core.QueuedCount);
        h.Connect();
        h.Succeed();
        var sent = h.Written.Where(m => m.Kind == OutboundKind.Message).Select(m => m.Ref).ToList();
        Assert.Equal(refs.Skip(40 - 31), sent); // 31 newest messages + the queued join ...
        Assert.Equal(2, h.Written.Count(m => m.Kind == OutboundKind.Join)); // ... plus the connect's own join.
    }

    [Fact]
    public void Frames_of_a_dropped_socket_are_ignored()
    {
        var h = Connected();
        var old = h.Core.Attempt;
        h.Drop();
        h.Core.OnFrame(old, """{"topic":"client","event":"init","payload":{},"ref":null}"""u8, h.Now);
        h.Core.OnDisconnected(old, "late", h.Now);
        h.Pump();
        Assert.Empty(h.Events.OfType<ChannelEvent.InboundMessage>());
        Assert.Single(h.Reconnects);
    }

    [Fact]
    public void Close_while_connected_does_a_close_handshake_and_close_while_connecting_abandons()
    {
        var h = Connected();
        h.Core.Close();
        h.Pump();
        var close = Assert.IsType<DriverCommand.CloseSocket>(h.Commands.Last());
        Assert.Equal(ChannelState.Closing, h.Core.State);
        h.Core.OnClosed(close.Attempt);
        h.Pump();
        Assert.IsType<ChannelEvent.Closed>(h.Events.Last());
        Assert.Equal(ChannelState.Closed, h.Core.State);

        var c = new CoreHarness(ReconnectPolicy.Gateway);
        c.Connect();
        c.Core.Close();
        c.Pump();
        Assert.Equal(ChannelState.Closed, c.Core.State);
        Assert.IsType<ChannelEvent.Closed>(c.Events.Last());
        c.Succeed(); // The abandoned attempt's late success changes nothing.
        Assert.Equal(ChannelState.Closed, c.Core.State);
        Assert.Equal(0, c.ConnectedCount);
    }

    [Fact]
    public void Send_failure_puts_the_message_back_in_front_and_reconnects()
    {
        var h = Connected();
        var message = h.Written[0];
        h.Core.OnSendFailed(h.Core.Attempt, message, "broken pipe", h.Now);
        h.Pump();
        Assert.Single(h.Reconnects);
        Assert.Equal(1, h.Core.QueuedCount);
    }

    [Fact]
    public void Poll_timeout_reflects_backoff_heartbeat_and_deadline()
    {
        var h = new CoreHarness(ReconnectPolicy.Gateway with { RandomizationFactor = 0 });
        Assert.Null(h.Core.PollTimeout());
        h.Connect();
        Assert.Null(h.Core.PollTimeout()); // Attempt in flight: nothing to wake for.
        h.Fail();
        Assert.Equal(S(0.5), h.Core.PollTimeout());
        h.AdvanceTo(S(0.5));
        h.Succeed();
        Assert.Equal(S(30.5), h.Core.PollTimeout());
        h.AutoAckHeartbeats = false;
        h.AdvanceTo(S(30.5));
        Assert.Equal(S(35.5), h.Core.PollTimeout());
    }
}
