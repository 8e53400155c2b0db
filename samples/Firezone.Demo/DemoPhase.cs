namespace Firezone.Demo;

/// <summary>One phase of the demo: what was sent and answered, and whether it delivered (its path came up and its last pings were all answered).</summary>
internal sealed class DemoPhase(string name)
{
    public int Sent { get; private set; }

    public int Received { get; private set; }

    /// <summary>A reply came while the path was being set up or repaired.</summary>
    public bool Ready { get; set; }

    /// <summary>Every one of the phase's final pings was answered.</summary>
    public bool Final { get; set; }

    public bool Delivered => Ready && Final;

    public void Count(bool answered)
    {
        Sent++;
        Received += answered ? 1 : 0;
    }

    public override string ToString() => $"{name}: {Received}/{Sent} answered";
}
