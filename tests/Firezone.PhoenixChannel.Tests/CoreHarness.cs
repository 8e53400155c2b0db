using System.Text;
using Firezone.PhoenixChannel.Backoff;
using Firezone.PhoenixChannel.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.PhoenixChannel.Tests;

/// <summary>
/// Drives the sans-IO <see cref="ChannelCore"/> on a fake clock with a scripted transport: the test decides what every
/// connection attempt does and when, and the harness records commands, events and written frames.
/// </summary>
internal sealed class CoreHarness
{
    public const string Url = "wss://portal.test:443/relay/websocket?token=secret";

    public CoreHarness(ReconnectPolicy policy, string topic = "relay", int seed = 7, TimeSpan? heartbeatInterval = null)
    {
        Core = new ChannelCore(topic, topic == "relay" ? """{"stamp_secret":"00"}""" : "null", policy, new Random(seed),
            NullLogger.Instance, heartbeatInterval);
    }

    public ChannelCore Core { get; }
    public TimeSpan Now { get; private set; }
    public List<ChannelEvent> Events { get; } = [];
    public List<DriverCommand> Commands { get; } = [];
    public List<OutboundMessage> Written { get; } = [];

    /// <summary>Answer every heartbeat at once (a healthy portal).</summary>
    public bool AutoAckHeartbeats { get; set; } = true;

    /// <summary>What a new attempt does when it starts: null leaves it in flight for the test to settle.</summary>
    public Func<TimeSpan, ConnectFailure?>? AttemptOutcome { get; set; }

    public long? InFlightAttempt { get; private set; }

    public IEnumerable<ChannelEvent.Reconnecting> Reconnects => Events.OfType<ChannelEvent.Reconnecting>();
    public ChannelEvent.Failed? Failure => Events.OfType<ChannelEvent.Failed>().FirstOrDefault();
    public int ConnectedCount => Events.OfType<ChannelEvent.Connected>().Count();

    public void Connect(string url = Url)
    {
        Core.Connect(new Uri(url));
        Pump();
    }

    /// <summary>The in-flight attempt succeeds now.</summary>
    public void Succeed()
    {
        var attempt = InFlightAttempt ?? throw new InvalidOperationException("no attempt in flight");
        InFlightAttempt = null;
        Core.OnConnected(attempt, Now);
        Pump();
    }

    /// <summary>The in-flight attempt fails now.</summary>
    public void Fail(string message = "connection refused", int? status = null)
    {
        var attempt = InFlightAttempt ?? throw new InvalidOperationException("no attempt in flight");
        InFlightAttempt = null;
        Core.OnConnectFailed(attempt, new ConnectFailure(message, status), Now);
        Pump();
    }

    /// <summary>The open socket breaks now.</summary>
    public void Drop(string reason = "connection reset")
    {
        Core.OnDisconnected(Core.Attempt, reason, Now);
        Pump();
    }

    public void Receive(string json)
    {
        Core.OnFrame(Core.Attempt, Encoding.UTF8.GetBytes(json), Now);
        Pump();
    }

    public void AdvanceTo(TimeSpan target)
    {
        for (var guard = 0; guard < 1_000_000; guard++)
        {
            var next = Core.PollTimeout();
            if (next is not { } t || t > target)
            {
                break;
            }
            Now = t > Now ? t : Now;
            Core.HandleTimeout(Now);
            Pump();
        }
        Now = target;
    }

    public void Advance(TimeSpan by) => AdvanceTo(Now + by);

    public void Pump()
    {
        for (var progress = true; progress;)
        {
            progress = false;
            while (Core.PollCommand() is { } c)
            {
                progress = true;
                Commands.Add(c);
                if (c is DriverCommand.OpenSocket open)
                {
                    InFlightAttempt = open.Attempt;
                    if (AttemptOutcome?.Invoke(Now) is { } outcome)
                    {
                        InFlightAttempt = null;
                        if (outcome.Message == "ok") Core.OnConnected(open.Attempt, Now);
                        else Core.OnConnectFailed(open.Attempt, outcome, Now);
                    }
                }
            }
            while (Core.PollEvent() is { } e)
            {
                progress = true;
                Events.Add(e);
            }
            while (Core.PollTransmit() is { } m)
            {
                progress = true;
                Written.Add(m);
                if (AutoAckHeartbeats && m.Kind == OutboundKind.Heartbeat)
                {
                    Core.OnFrame(Core.Attempt, Encoding.UTF8.GetBytes(
                        "{\"topic\":\"phoenix\",\"event\":\"phx_reply\",\"payload\":{\"status\":\"ok\",\"response\":{}},\"ref\":" + (m.Ref) + "}"), Now);
                }
            }
        }
    }

    /// <summary>An attempt outcome that connects.</summary>
    public static ConnectFailure? Ok => new ConnectFailure("ok");
}
