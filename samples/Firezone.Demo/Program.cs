System.Console.WriteLine("Firezone.NET demo");
