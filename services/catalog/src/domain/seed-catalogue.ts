import { createProduct, type Product, type ProductDraft } from './product.js';

/** One product of the demo catalogue; currency and image come from {@link seedProducts}. */
interface SeedEntry {
  sku: string;
  name: string;
  description: string;
  priceMinor: number;
  categories: string[];
}

/**
 * The demo catalogue of a small homewares, stationery and coffee shop: fifty products priced
 * in euro cents, loaded when the products collection is empty (`CATALOG_SEED`).
 */
export const SEED_CATALOGUE: readonly SeedEntry[] = [
  // Coffee beans
  {
    sku: 'COF-ETH-YRG-250',
    name: 'Ethiopia Yirgacheffe, Washed, 250 g',
    description:
      'Light roast from smallholders around Yirgacheffe. Jasmine, bergamot and lemon curd; best as pour-over.',
    priceMinor: 1450,
    categories: ['coffee', 'beans'],
  },
  {
    sku: 'COF-COL-HUI-250',
    name: 'Colombia Huila, Single Origin, 250 g',
    description:
      'Medium roast from the highlands of Huila. Red apple, panela and milk chocolate, with a round body.',
    priceMinor: 1290,
    categories: ['coffee', 'beans'],
  },
  {
    sku: 'COF-BRA-CER-1000',
    name: 'Brazil Cerrado Espresso Beans, 1 kg',
    description:
      'Natural-process beans roasted for espresso: hazelnut, cocoa and a syrupy crema. Good value for daily brewing.',
    priceMinor: 3290,
    categories: ['coffee', 'beans'],
  },
  {
    sku: 'COF-KEN-AA-250',
    name: 'Kenya AA Nyeri, 250 g',
    description:
      'Bright and juicy, with blackcurrant, grapefruit and a winey finish. Roasted light to keep the acidity.',
    priceMinor: 1590,
    categories: ['coffee', 'beans'],
  },
  {
    sku: 'COF-GUA-ANT-250',
    name: 'Guatemala Antigua, 250 g',
    description:
      'Grown on volcanic soil near Antigua. Toffee, orange peel and a gentle spice; lovely as filter or with milk.',
    priceMinor: 1350,
    categories: ['coffee', 'beans'],
  },
  {
    sku: 'COF-HSE-ESP-500',
    name: 'House Espresso Blend, 500 g',
    description:
      'Our everyday blend of Brazilian and Colombian beans. Dark chocolate and caramel, forgiving in any machine.',
    priceMinor: 1890,
    categories: ['coffee', 'beans'],
  },
  {
    sku: 'COF-DEC-SWP-250',
    name: 'Swiss Water Decaf, 250 g',
    description:
      'Decaffeinated with water alone, no solvents. Cocoa, dried fig and brown sugar, for the late-evening cup.',
    priceMinor: 1390,
    categories: ['coffee', 'beans'],
  },
  {
    sku: 'COF-SUM-MAN-250',
    name: 'Sumatra Mandheling, 250 g',
    description:
      'Wet-hulled beans with a heavy body and low acidity. Cedar, dark cocoa and a long, earthy finish.',
    priceMinor: 1420,
    categories: ['coffee', 'beans'],
  },
  // Brewing equipment
  {
    sku: 'BRW-V60-CER-02',
    name: 'Ceramic Pour-Over Dripper, Size 02',
    description:
      'A cone dripper with spiral ribs for an even extraction. Brews one to four cups; dishwasher safe.',
    priceMinor: 2400,
    categories: ['coffee', 'brewing'],
  },
  {
    sku: 'BRW-FLT-PAP-100',
    name: 'Paper Filters, Size 02, Pack of 100',
    description: 'Unbleached, oxygen-whitened cone filters that leave no papery taste.',
    priceMinor: 590,
    categories: ['coffee', 'brewing'],
  },
  {
    sku: 'BRW-FRP-GLS-800',
    name: 'Glass French Press, 800 ml',
    description:
      'Borosilicate glass in a stainless steel frame, with a four-layer mesh filter. Makes three large mugs.',
    priceMinor: 3490,
    categories: ['coffee', 'brewing'],
  },
  {
    sku: 'BRW-MOK-ALU-6',
    name: 'Stovetop Moka Pot, Aluminium, 6 Cups',
    description:
      'The classic eight-sided stovetop brewer for strong, espresso-style coffee. Works on gas and electric hobs.',
    priceMinor: 2990,
    categories: ['coffee', 'brewing'],
  },
  {
    sku: 'BRW-GRD-BUR-01',
    name: 'Hand Burr Grinder with Steel Burrs',
    description:
      'Conical stainless steel burrs with 40 click settings, from espresso fine to French press coarse.',
    priceMinor: 6900,
    categories: ['coffee', 'brewing'],
  },
  {
    sku: 'BRW-KTL-GSN-1L',
    name: 'Gooseneck Pour-Over Kettle, 1 l',
    description:
      'A slim spout for a slow, steady pour and a built-in thermometer. Suitable for induction.',
    priceMinor: 4900,
    categories: ['coffee', 'brewing', 'kitchen'],
  },
  {
    sku: 'BRW-SCL-TMR-01',
    name: 'Coffee Scale with Timer',
    description:
      'Weighs to 0.1 g with a built-in brew timer and a silicone heat pad. USB-C rechargeable.',
    priceMinor: 3900,
    categories: ['coffee', 'brewing'],
  },
  {
    sku: 'BRW-CLD-JAR-1L',
    name: 'Cold Brew Jar with Filter, 1 l',
    description:
      'Steep coarse grounds overnight in the fridge, lift out the fine-mesh filter and pour. Keeps for a week.',
    priceMinor: 2690,
    categories: ['coffee', 'brewing'],
  },
  {
    sku: 'BRW-IMM-TRV-01',
    name: 'Travel Immersion Brewer',
    description:
      'A compact press brewer for one strong cup anywhere. Unbreakable, with 350 micro-filters included.',
    priceMinor: 3990,
    categories: ['coffee', 'brewing'],
  },
  // Mugs and cups
  {
    sku: 'MUG-CER-350',
    name: 'Stoneware Mug, Speckled White, 350 ml',
    description:
      'Hand-glazed stoneware with a speckled finish and a generous handle. Microwave and dishwasher safe.',
    priceMinor: 1450,
    categories: ['homewares', 'mugs'],
  },
  {
    sku: 'MUG-CER-SAG-350',
    name: 'Stoneware Mug, Sage Green, 350 ml',
    description:
      'Our speckled mug in a soft sage glaze; each one varies a little from the kiln. Dishwasher safe.',
    priceMinor: 1450,
    categories: ['homewares', 'mugs'],
  },
  {
    sku: 'MUG-ENM-NVY-300',
    name: 'Enamel Camp Mug, Navy, 300 ml',
    description:
      'Enamelled steel with a rolled rim: light, tough and ready for the garden or the hills.',
    priceMinor: 1290,
    categories: ['homewares', 'mugs'],
  },
  {
    sku: 'CUP-ESP-GLS-2',
    name: 'Double-Walled Espresso Glasses, Set of 2',
    description:
      'Hand-blown borosilicate glasses that keep espresso hot and fingers cool, with the crema on show. 80 ml each.',
    priceMinor: 1890,
    categories: ['homewares', 'mugs'],
  },
  {
    sku: 'CUP-TRV-BMB-400',
    name: 'Reusable Travel Cup, 400 ml',
    description:
      'A leak-proof lid and a silicone grip; fits under most espresso machines and in car cup holders.',
    priceMinor: 1690,
    categories: ['homewares', 'mugs'],
  },
  // Homewares
  {
    sku: 'HOM-CDL-FIG-200',
    name: 'Soy Wax Candle, Fig & Cedar, 200 g',
    description:
      'Poured by hand into a reusable amber glass jar. A cotton wick and about 40 hours of burn time.',
    priceMinor: 2200,
    categories: ['homewares', 'candles'],
  },
  {
    sku: 'HOM-CDL-TEA-12',
    name: 'Soy Wax Tealights, Set of 12',
    description: 'Unscented tealights in recyclable aluminium cups; about four hours each.',
    priceMinor: 890,
    categories: ['homewares', 'candles'],
  },
  {
    sku: 'HOM-THR-WOL-130',
    name: 'Merino Wool Throw, Oat, 130 x 170 cm',
    description:
      'Woven in Portugal from soft merino wool, with fringed edges. Warm without weight for the sofa or the bed.',
    priceMinor: 8900,
    categories: ['homewares', 'textiles'],
  },
  {
    sku: 'HOM-CUS-LIN-45',
    name: 'Linen Cushion Cover, Rust, 45 x 45 cm',
    description: 'Stone-washed European linen with a hidden zip. The insert is sold separately.',
    priceMinor: 2900,
    categories: ['homewares', 'textiles'],
  },
  {
    sku: 'HOM-VAS-GLS-20',
    name: 'Recycled Glass Vase, 20 cm',
    description:
      'Mouth-blown from recycled glass, with a faint green tint and the occasional air bubble.',
    priceMinor: 2490,
    categories: ['homewares', 'decor'],
  },
  {
    sku: 'HOM-TTL-LIN-2',
    name: 'Linen Tea Towels, Set of 2',
    description: 'Absorbent, lint-free linen in natural and charcoal stripes, with a hanging loop.',
    priceMinor: 1690,
    categories: ['homewares', 'kitchen', 'textiles'],
  },
  {
    sku: 'HOM-BRD-OAK-40',
    name: 'Oak Serving Board, 40 cm',
    description:
      'Cut from a single piece of European oak and finished with food-safe oil. For bread, cheese and charcuterie.',
    priceMinor: 3490,
    categories: ['homewares', 'kitchen'],
  },
  {
    sku: 'HOM-BWL-CER-4',
    name: 'Stoneware Cereal Bowls, Set of 4',
    description:
      'Matching our speckled mugs: 16 cm bowls for porridge, soup or salad. Oven, microwave and dishwasher safe.',
    priceMinor: 3990,
    categories: ['homewares', 'kitchen'],
  },
  {
    sku: 'HOM-TRY-WAL-01',
    name: 'Walnut Valet Tray',
    description:
      'A small tray turned from American walnut for keys, watches and coins by the door or the bed.',
    priceMinor: 2990,
    categories: ['homewares', 'decor'],
  },
  {
    sku: 'HOM-PLT-TER-12',
    name: 'Terracotta Plant Pot with Saucer, 12 cm',
    description:
      'Unglazed terracotta that lets roots breathe, with a drainage hole and matching saucer.',
    priceMinor: 1290,
    categories: ['homewares', 'decor'],
  },
  {
    sku: 'HOM-CAN-STL-1L',
    name: 'Airtight Coffee Canister, Brushed Steel, 1 l',
    description:
      'A one-way valve lets CO2 out and keeps air away from fresh beans. Holds 500 g; a date wheel on the lid.',
    priceMinor: 2490,
    categories: ['homewares', 'kitchen', 'coffee'],
  },
  {
    sku: 'HOM-CLK-BCH-30',
    name: 'Minimal Wall Clock, Beech, 30 cm',
    description: 'A solid beech face with slim black hands and a silent sweep movement.',
    priceMinor: 4490,
    categories: ['homewares', 'decor'],
  },
  // Stationery
  {
    sku: 'STN-NBK-A5-DOT',
    name: 'A5 Notebook, Dot Grid, 192 Pages',
    description:
      'Lay-flat binding and 100 g/m2 ivory paper that takes fountain pen ink without bleeding. Numbered pages.',
    priceMinor: 1890,
    categories: ['stationery', 'notebooks'],
  },
  {
    sku: 'STN-NBK-A5-LIN',
    name: 'A5 Notebook, Lined, 192 Pages',
    description:
      'The same lay-flat notebook with 6 mm ruled lines, an index and two ribbon markers.',
    priceMinor: 1890,
    categories: ['stationery', 'notebooks'],
  },
  {
    sku: 'STN-NBK-A6-3',
    name: 'A6 Pocket Notebooks, Set of 3',
    description: 'Kraft covers, plain, lined and squared pages, stitched to fit a back pocket.',
    priceMinor: 1290,
    categories: ['stationery', 'notebooks'],
  },
  {
    sku: 'STN-JRN-LTH-A5',
    name: 'Leather Journal Cover, A5, Tan',
    description:
      'Vegetable-tanned leather that darkens with use, with a pen loop and a card pocket. Fits our A5 notebooks.',
    priceMinor: 4900,
    categories: ['stationery', 'notebooks'],
  },
  {
    sku: 'STN-PEN-FTN-F',
    name: 'Steel Fountain Pen, Fine Nib',
    description:
      'A brushed steel body with a smooth fine nib; takes standard international cartridges or the converter included.',
    priceMinor: 3490,
    categories: ['stationery', 'pens'],
  },
  {
    sku: 'STN-INK-BLB-50',
    name: 'Fountain Pen Ink, Blue-Black, 50 ml',
    description: 'A well-behaved, quick-drying ink with good shading, in a glass bottle.',
    priceMinor: 1290,
    categories: ['stationery', 'pens'],
  },
  {
    sku: 'STN-PEN-GEL-5',
    name: 'Gel Pens, 0.5 mm, Black, Pack of 5',
    description: 'Smooth, quick-drying gel ink for everyday notes; refillable.',
    priceMinor: 790,
    categories: ['stationery', 'pens'],
  },
  {
    sku: 'STN-PCL-HB-12',
    name: 'Cedar Pencils, HB, Box of 12',
    description:
      'Incense-cedar pencils with a smooth HB graphite core, sharpened and ready to use.',
    priceMinor: 990,
    categories: ['stationery', 'pens'],
  },
  {
    sku: 'STN-PLN-WK-2027',
    name: 'Weekly Planner 2027, A5',
    description:
      'A week on two pages, monthly overviews and year planners, bound in a linen cover with a ribbon.',
    priceMinor: 2290,
    categories: ['stationery', 'notebooks'],
  },
  {
    sku: 'STN-CRD-LTP-6',
    name: 'Letterpress Greeting Cards, Set of 6',
    description:
      'Blank cards printed by hand on heavy cotton paper, with kraft envelopes. Six botanical designs.',
    priceMinor: 1590,
    categories: ['stationery', 'paper', 'gifts'],
  },
  {
    sku: 'STN-ENV-KRF-25',
    name: 'Kraft Envelopes, C6, Pack of 25',
    description: 'Recycled kraft paper envelopes with a peel-and-seal flap.',
    priceMinor: 490,
    categories: ['stationery', 'paper'],
  },
  {
    sku: 'STN-DSK-FLT-60',
    name: 'Felt Desk Pad, 60 x 35 cm',
    description: 'Wool felt that softens the keyboard and protects the desk, with a non-slip base.',
    priceMinor: 3290,
    categories: ['stationery', 'desk'],
  },
  {
    sku: 'STN-ORG-BMB-01',
    name: 'Bamboo Desk Organiser',
    description:
      'Compartments for pens, cards, a phone and sticky notes, in solid bamboo with a clear lacquer.',
    priceMinor: 2690,
    categories: ['stationery', 'desk'],
  },
  {
    sku: 'STN-TAP-WSH-5',
    name: 'Washi Tape, Set of 5',
    description: 'Japanese paper tape in muted colours: tear by hand, write on it, reposition it.',
    priceMinor: 890,
    categories: ['stationery', 'paper'],
  },
  {
    sku: 'STN-BKM-BRS-3',
    name: 'Brass Bookmarks, Set of 3',
    description: 'Slim etched brass bookmarks that will outlast the books they mark.',
    priceMinor: 1190,
    categories: ['stationery', 'gifts'],
  },
  // Gifts
  {
    sku: 'GFT-BOX-COF-01',
    name: "Coffee Lover's Gift Box",
    description:
      'Two 250 g bags of single-origin beans, a speckled stoneware mug and a pour-over dripper, gift wrapped.',
    priceMinor: 4900,
    categories: ['gifts', 'coffee'],
  },
];

/** The currency every seeded price is in. */
export const SEED_CURRENCY = 'EUR';

/** The demo catalogue as products, each with a new id and a `/images/<sku>.jpg` picture. */
export function seedProducts(now: Date): Product[] {
  return SEED_CATALOGUE.map((entry) => {
    const draft: ProductDraft = {
      ...entry,
      currency: SEED_CURRENCY,
      images: [`/images/${entry.sku}.jpg`],
    };
    return createProduct(draft, now);
  });
}
