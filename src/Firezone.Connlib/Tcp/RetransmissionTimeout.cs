namespace Firezone.Connlib.Tcp;

/// <summary>
/// The retransmission timeout of RFC 6298: before any sample RTO = the initial value (1 s); the first sample R sets
/// SRTT = R, RTTVAR = R/2; later ones RTTVAR = 3/4·RTTVAR + 1/4·|SRTT − R|, SRTT = 7/8·SRTT + 1/8·R; RTO = SRTT +
/// max(G, 4·RTTVAR) with clock granularity G = 1 ms, bounded to [min, max]; each expiry doubles it (§5.5, up to max).
/// Samples come only from segments sent once (Karn's algorithm, enforced by the caller).
/// </summary>
internal struct RetransmissionTimeout
{
    private static readonly TimeSpan Granularity = TimeSpan.FromMilliseconds(1);
    private readonly TimeSpan _min, _max;
    private TimeSpan _srtt, _rttvar;
    private bool _hasSample;

    public RetransmissionTimeout(TimeSpan initial, TimeSpan min, TimeSpan max)
    {
        _min = min;
        _max = max;
        Current = Clamp(initial);
    }

    /// <summary>The RTO now.</summary>
    public TimeSpan Current { get; private set; }
    /// <summary>Smoothed RTT (zero before the first sample).</summary>
    public TimeSpan SmoothedRtt => _srtt;
    /// <summary>RTT variation (zero before the first sample).</summary>
    public TimeSpan RttVariation => _rttvar;
    /// <summary>True once a sample was taken.</summary>
    public bool HasSample => _hasSample;

    /// <summary>Takes one RTT measurement (§2.2/§2.3) and recomputes the RTO (which also undoes any backoff).</summary>
    public void Sample(TimeSpan rtt)
    {
        if (rtt < TimeSpan.Zero) rtt = TimeSpan.Zero;
        if (!_hasSample)
        {
            _srtt = rtt;
            _rttvar = rtt / 2;
            _hasSample = true;
        }
        else
        {
            TimeSpan delta = _srtt - rtt;
            if (delta < TimeSpan.Zero) delta = -delta;
            _rttvar = (_rttvar * 3 + delta) / 4;
            _srtt = (_srtt * 7 + rtt) / 8;
        }
        TimeSpan k = _rttvar * 4;
        Current = Clamp(_srtt + (k > Granularity ? k : Granularity));
    }

    /// <summary>§5.5: the timer expired, so the RTO doubles (bounded by max).</summary>
    public void Backoff() => Current = Clamp(Current * 2);

    /// <summary>§5.7: after a SYN was retransmitted, data starts with an RTO of 3 s unless a sample exists.</summary>
    public void ResetAfterSynRetransmission()
    {
        if (!_hasSample) Current = Clamp(TimeSpan.FromSeconds(3));
    }

    private readonly TimeSpan Clamp(TimeSpan t) => t < _min ? _min : t > _max ? _max : t;
}
