using System.Diagnostics;

namespace Firezone.Benchmarks;

/// <summary>
/// The paired-measurement loop of the <c>*-paired</c> harnesses: alternates short batches of a reference and a
/// candidate (ABBA order, so both see the same background load on a busy machine), after a warm-up, and keeps each
/// round's times and the bytes the candidate allocated.
/// </summary>
internal static class PairedRounds
{
    /// <summary>Runs <paramref name="rounds"/> rounds of one reference batch and one candidate batch each.</summary>
    public static (double[] Reference, double[] Candidate, long CandidateAllocated) Run(Action reference, Action candidate, int rounds, int warmUp = 200)
    {
        for (var i = 0; i < warmUp; i++)
        {
            reference();
            candidate();
        }

        var referenceSeconds = new double[rounds];
        var candidateSeconds = new double[rounds];
        long allocated = 0;
        var sw = new Stopwatch();
        for (var round = 0; round < rounds; round++)
        {
            var referenceFirst = round % 2 == 0;
            for (var k = 0; k < 2; k++)
            {
                if ((k == 0) == referenceFirst)
                {
                    sw.Restart();
                    reference();
                    referenceSeconds[round] = sw.Elapsed.TotalSeconds;
                }
                else
                {
                    var before = GC.GetAllocatedBytesForCurrentThread();
                    sw.Restart();
                    candidate();
                    candidateSeconds[round] = sw.Elapsed.TotalSeconds;
                    allocated += GC.GetAllocatedBytesForCurrentThread() - before;
                }
            }
        }

        return (referenceSeconds, candidateSeconds, allocated);
    }

    /// <summary>The median of <paramref name="values"/>.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    /// <summary>The median of the per-round ratios reference time / candidate time (candidate speed relative to the reference).</summary>
    public static double MedianRatio(double[] reference, double[] candidate) =>
        Median(Enumerable.Range(0, reference.Length).Select(i => reference[i] / candidate[i]));
}
